package dev.switchboard.task;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The Lua scripts of {@link RedisTaskQueue}: every step that changes a task is one script, so a
 * task's hash, its stream entry, its index entries and the wake-up marker always change together,
 * and a fenced step checks the lease token in the same atomic step that acts on it.
 *
 * <p>Keys, all under the prefix P (ARGV[1] of every script): {@code P t:<id>} the task's hash;
 * {@code P s:<priority>} the stream of runnable tasks of a priority, with the consumer group
 * {@code workers} (an entry per time a task enters the line; pending entries are the leases);
 * {@code P d:<priority>} the sorted set of tasks waiting for their time (delay, retry-at);
 * {@code P i:<status>:<priority>} the listing index (score: the task's sequence number);
 * {@code P done} finished tasks by the time they finished (purge); {@code P seq} the sequence;
 * {@code P rr} the rotation's position; {@code P marker} the sorted set that blocked workers wait
 * on (member {@code 0}: runnable now; member {@code d}, score: the earliest time a waiting task
 * comes due); idempotency keys are plain strings whose names the caller builds.
 *
 * <p>Times come from Redis ({@code TIME}), so that instances whose clocks differ agree on when a
 * lease expired. Commands used exist in Redis 7.0 (XAUTOCLAIM since 6.2, ZADD LT since 6.2,
 * exclusive XRANGE since 6.2). Redis Cluster is not supported: scripts build key names from the
 * prefix.
 */
final class RedisScripts {

  /** A script and its SHA-1, for EVALSHA. */
  record Script(String name, String source, String sha) {

    static Script of(String name, String body) {
      String source = PRELUDE + body;
      try {
        byte[] digest = MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8));
        return new Script(name, source, HexFormat.of().formatHex(digest));
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private RedisScripts() {
  }

  static final String GROUP = "workers";

  private static final String PRELUDE = """
      local rcall = redis.call
      local P = ARGV[1]
      local G = '%s'
      local PRIORITIES = {'high', 'normal', 'low'}
      local ROTATION = %s
      local LEASE_FIELDS = {'lease_owner', 'lease_token', 'lease_until', 'leased_at'}

      local function now_ms()
        local t = rcall('TIME')
        return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      end
      local function int(n) return string.format('%%d', n) end
      local function tkey(id) return P .. 't:' .. id end
      local function skey(p) return P .. 's:' .. p end
      local function dkey(p) return P .. 'd:' .. p end
      local function ikey(status, p) return P .. 'i:' .. status .. ':' .. p end
      local DONE = P .. 'done'
      local MARKER = P .. 'marker'
      local function finished(status)
        return status == 'succeeded' or status == 'failed' or status == 'cancelled'
      end

      local function reindex(id, seq, p, from, to)
        rcall('ZREM', ikey(from, p), id)
        rcall('ZADD', ikey(to, p), seq, id)
      end

      -- a stream that vanished (a Redis that came back empty, a key deleted) gets its group back;
      -- once looked at, a stream stays for the rest of the script
      local grouped = {}
      local function ensure_group(p)
        if grouped[p] then return end
        if rcall('EXISTS', skey(p)) == 0 then
          rcall('XGROUP', 'CREATE', skey(p), G, '0', 'MKSTREAM')
        end
        grouped[p] = true
      end

      -- into the line of its priority: answers the entry, which the caller stores in the hash
      local function line(id, p, ready)
        ensure_group(p)
        return rcall('XADD', skey(p), '*', 'id', id, 'ready', int(ready))
      end

      -- into the line, and a wake-up for a blocked worker
      local function enqueue(id, p, ready)
        rcall('HSET', tkey(id), 'entry', line(id, p, ready))
        rcall('ZADD', MARKER, 0, '0')
      end

      local function schedule(id, p, at)
        rcall('ZADD', dkey(p), at, id)
        rcall('ZADD', MARKER, 'LT', at, 'd')
      end

      -- out of the line: its entry acknowledged (when it was delivered) and deleted
      local function unline(id, p, entry)
        if entry then
          redis.pcall('XACK', skey(p), G, entry)
          rcall('XDEL', skey(p), entry)
          rcall('HDEL', tkey(id), 'entry')
        end
        rcall('ZREM', dkey(p), id)
      end

      -- nil when the lease with this token still holds the task, else what the worker is told
      local function fence(k, token)
        local f = rcall('HMGET', k, 'status', 'lease_token')
        if not f[1] or f[2] ~= token then return 'LEASE_LOST' end
        if f[1] == 'cancelled' then return 'CANCELLED' end
        if f[1] ~= 'running' then return 'LEASE_LOST' end
        return nil
      end

      local function finish(id, k, p, seq, from, status, now)
        rcall('HSET', k, 'status', status, 'updated_at', int(now))
        rcall('HDEL', k, 'lease_owner', 'lease_until', 'leased_at')
        reindex(id, seq, p, from, status)
        rcall('ZADD', DONE, now, id)
      end

      local function requeue(id, k, p, seq, from, at, now)
        rcall('HSET', k, 'status', 'queued', 'run_at', int(at), 'updated_at', int(now))
        rcall('HDEL', k, unpack(LEASE_FIELDS))
        reindex(id, seq, p, from, 'queued')
        if at > now then schedule(id, p, at) else enqueue(id, p, now) end
      end
      """.formatted(GROUP, Rotation.luaTable());

  /**
   * ARGV: P, then per task: id, spec, priority, run_at, max_attempts, subject, has_subject (1/0),
   * idempotency key name (or ''). Tasks of one call are stored in order, so a key given twice in
   * one call is answered as if the calls had come one after the other. Answers per task {1, now,
   * run_at} for a new one (the caller has the rest), {0, the earlier task's fields} for a key
   * that matched.
   */
  static final Script SUBMIT = Script.of("submit", """
      local now = now_ms()
      local out = {}
      local lined = false
      -- a sequence number for each task of the call at once (one that matched a key leaves a gap)
      local seq = rcall('INCRBY', P .. 'seq', (#ARGV - 1) / 8) - (#ARGV - 1) / 8
      -- per priority, the listing index entries, written once at the end
      local indexed = {}
      for i = 2, #ARGV, 8 do
        local id, p, idem = ARGV[i], ARGV[i + 2], ARGV[i + 7]
        local earlier = idem ~= '' and rcall('GET', idem)
        if earlier and rcall('EXISTS', tkey(earlier)) == 1 then
          out[#out + 1] = {0, rcall('HGETALL', tkey(earlier))}
        else
          local at = math.max(tonumber(ARGV[i + 3]), now)
          seq = seq + 1
          local k = tkey(id)
          -- the whole hash in one write: its entry in the line first, when it runs now
          local h = {'id', id, 'spec', ARGV[i + 1], 'priority', p, 'status', 'queued', 'attempts', 0, 'lost', 0,
            'max_attempts', ARGV[i + 4], 'run_at', int(at), 'created_at', int(now), 'updated_at', int(now), 'seq', int(seq)}
          if ARGV[i + 6] == '1' then
            h[#h + 1] = 'subject'
            h[#h + 1] = ARGV[i + 5]
          end
          if idem ~= '' then
            rcall('SET', idem, id)
            h[#h + 1] = 'idem'
            h[#h + 1] = idem
          end
          if at > now then
            schedule(id, p, at)
          else
            h[#h + 1] = 'entry'
            h[#h + 1] = line(id, p, now)
            lined = true
          end
          rcall('HSET', k, unpack(h))
          local ix = indexed[p]
          if not ix then
            ix = {}
            indexed[p] = ix
          end
          ix[#ix + 1] = seq
          ix[#ix + 1] = id
          out[#out + 1] = {1, int(now), int(at)}
        end
      end
      for p, ix in pairs(indexed) do rcall('ZADD', ikey('queued', p), unpack(ix)) end
      -- one wake-up for all that joined the line
      if lined then rcall('ZADD', MARKER, 0, '0') end
      return out
      """);

  /**
   * ARGV: P, worker, max, visibility ms, then max tokens. Moves tasks that came due into the line,
   * then takes up to max entries, one per slot of the rotation. Answers the leased tasks' fields.
   */
  static final Script LEASE = Script.of("lease", """
      local worker, max, visibility = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
      local now = now_ms()

      -- the mover: delayed and retry-at tasks whose time has come join the line
      for _, p in ipairs(PRIORITIES) do
        local due = rcall('ZRANGEBYSCORE', dkey(p), '-inf', now, 'LIMIT', 0, 1000)
        for _, id in ipairs(due) do
          rcall('ZREM', dkey(p), id)
          local f = rcall('HMGET', tkey(id), 'status', 'run_at')
          if f[1] == 'queued' then enqueue(id, p, tonumber(f[2]) or now) end
        end
      end

      local exists = {}
      -- up to n entries of the line of p for this worker: {entry, id}, ...
      local function read(p, n)
        if exists[p] == nil then exists[p] = rcall('EXISTS', skey(p)) == 1 end
        if not exists[p] then return {} end
        local r = redis.pcall('XREADGROUP', 'GROUP', G, worker, 'COUNT', n, 'STREAMS', skey(p), '>')
        if type(r) == 'table' and r.err then
          -- NOGROUP: the stream is back without its group
          redis.pcall('XGROUP', 'CREATE', skey(p), G, '0')
          r = rcall('XREADGROUP', 'GROUP', G, worker, 'COUNT', n, 'STREAMS', skey(p), '>')
        end
        local found = {}
        if r then
          for _, e in ipairs(r[1][2]) do found[#found + 1] = {e[1], e[2][2]} end
        end
        return found
      end

      local pos = tonumber(rcall('GET', P .. 'rr') or '0')
      local empty = {}
      -- the next slot of the rotation whose priority may have work (nil: none has)
      local function advance()
        for _ = 1, #ROTATION do
          local candidate = ROTATION[(pos % #ROTATION) + 1]
          pos = pos + 1
          if not empty[candidate] then return candidate end
        end
        return nil
      end
      local out = {}
      -- the index moves of the leased tasks, per priority, written once at the end
      local moved = {}
      while #out < max do
        local p = advance()
        if not p then break end
        -- when p is the only priority left with work, the slots still to fill are all p's: read
        -- them at once, and walk the rotation as one read per slot would have
        local alone = true
        for _, q in ipairs(PRIORITIES) do
          if q ~= p and not empty[q] then alone = false end
        end
        local want = alone and (max - #out) or 1
        local found = read(p, want)
        local leased = 0
        for _, e in ipairs(found) do
          local entry, id = e[1], e[2]
          local k = tkey(id)
          local f = rcall('HMGET', k, 'status', 'entry', 'seq', 'attempts')
          if f[1] == 'queued' and f[2] == entry then
            local token = ARGV[5 + #out]
            rcall('HSET', k, 'status', 'running', 'attempts', int(tonumber(f[4]) + 1), 'lease_owner', worker,
              'lease_token', token, 'lease_until', int(now + visibility), 'leased_at', int(now), 'updated_at', int(now))
            local m = moved[p]
            if not m then
              m = {ids = {}, scored = {}}
              moved[p] = m
            end
            m.ids[#m.ids + 1] = id
            m.scored[#m.scored + 1] = f[3]
            m.scored[#m.scored + 1] = id
            out[#out + 1] = rcall('HGETALL', k)
            leased = leased + 1
          elseif not (f[1] == 'running' and f[2] == entry) then
            -- an entry left behind by a task that moved on: drop it
            rcall('XACK', skey(p), G, entry)
            rcall('XDEL', skey(p), entry)
          end
          -- (a live lease's entry delivered again after its group was recreated stays pending,
          -- for reclaim to judge by the hash)
        end
        -- one slot per leased task: the first was taken above, a read that leased nothing gives it back
        if leased == 0 then
          pos = pos - 1
        else
          for _ = 2, leased do advance() end
        end
        if #found < want then
          -- the line ran dry: as one read per slot would have, a last slot of p found it empty
          -- (with nothing leased, pos is on that slot already)
          if leased == 0 then pos = pos + 1 else advance() end
          empty[p] = true
        end
      end
      for p, m in pairs(moved) do
        rcall('ZREM', ikey('queued', p), unpack(m.ids))
        rcall('ZADD', ikey('running', p), unpack(m.scored))
      end
      rcall('SET', P .. 'rr', int(pos % #ROTATION))
      -- this worker took all it could: there may be more for the next one that waits
      if #out == max then rcall('ZADD', MARKER, 0, '0') end
      return out
      """);

  /** ARGV: P, id, token, visibility ms. Resets the pending entry's idle time too (XCLAIM to its owner). */
  static final Script EXTEND = Script.of("extend", """
      local k = tkey(ARGV[2])
      local refused = fence(k, ARGV[3])
      if refused then return refused end
      local now = now_ms()
      local f = rcall('HMGET', k, 'priority', 'entry', 'lease_owner')
      rcall('HSET', k, 'lease_until', int(now + tonumber(ARGV[4])), 'leased_at', int(now))
      if f[2] then redis.pcall('XCLAIM', skey(f[1]), G, f[3], 0, f[2], 'JUSTID') end
      return 'OK'
      """);

  /** ARGV: P, id, token, result, trace ('': the stored one stays). */
  static final Script SAVE_RESULT = Script.of("save_result", """
      local k = tkey(ARGV[2])
      local refused = fence(k, ARGV[3])
      if refused then return refused end
      rcall('HSET', k, 'result', ARGV[4], 'updated_at', int(now_ms()))
      -- no trace given: the stored one stays
      if ARGV[5] and ARGV[5] ~= '' then rcall('HSET', k, 'trace', ARGV[5]) end
      return 'OK'
      """);

  /**
   * ARGV: P, then per task: id, token. Answers per task OK, LEASE_LOST or CANCELLED. The token
   * stays: a late call with it is told the lease is gone.
   */
  static final Script COMPLETE = Script.of("complete", """
      local now = now_ms()
      local out = {}
      -- per priority, what leaves the line and the indexes, written once at the end
      local by = {}
      local done = {}
      for i = 2, #ARGV, 2 do
        local id = ARGV[i]
        local k = tkey(id)
        -- the fence of the prelude, and what completing needs, in one read
        local f = rcall('HMGET', k, 'status', 'lease_token', 'priority', 'entry', 'seq')
        if not f[1] or f[2] ~= ARGV[i + 1] then
          out[#out + 1] = 'LEASE_LOST'
        elseif f[1] == 'cancelled' then
          out[#out + 1] = 'CANCELLED'
        elseif f[1] ~= 'running' then
          out[#out + 1] = 'LEASE_LOST'
        else
          local p = f[3]
          local b = by[p]
          if not b then
            b = {entries = {}, ids = {}, scored = {}}
            by[p] = b
          end
          -- a running task is in the line, never in the delayed set: only its entry goes
          if f[4] then b.entries[#b.entries + 1] = f[4] end
          b.ids[#b.ids + 1] = id
          b.scored[#b.scored + 1] = f[5]
          b.scored[#b.scored + 1] = id
          done[#done + 1] = now
          done[#done + 1] = id
          rcall('HSET', k, 'status', 'succeeded', 'updated_at', int(now))
          rcall('HDEL', k, 'entry', 'lease_owner', 'lease_until', 'leased_at')
          out[#out + 1] = 'OK'
        end
      end
      for p, b in pairs(by) do
        if #b.entries > 0 then
          redis.pcall('XACK', skey(p), G, unpack(b.entries))
          rcall('XDEL', skey(p), unpack(b.entries))
        end
        rcall('ZREM', ikey('running', p), unpack(b.ids))
        rcall('ZADD', ikey('succeeded', p), unpack(b.scored))
      end
      if #done > 0 then rcall('ZADD', DONE, unpack(done)) end
      return out
      """);

  /** ARGV: P, id, token, error ('': none), retry_at (0: none), trace ('': the stored one stays). */
  static final Script FAIL = Script.of("fail", """
      local id = ARGV[2]
      local k = tkey(id)
      local refused = fence(k, ARGV[3])
      if refused then return refused end
      local now = now_ms()
      local f = rcall('HMGET', k, 'priority', 'entry', 'seq', 'attempts', 'max_attempts')
      local retry_at = tonumber(ARGV[5])
      unline(id, f[1], f[2])
      -- no error given: the last one stays
      if ARGV[4] ~= '' then rcall('HSET', k, 'error', ARGV[4]) end
      if ARGV[6] and ARGV[6] ~= '' then rcall('HSET', k, 'trace', ARGV[6]) end
      if retry_at > 0 and tonumber(f[4]) < tonumber(f[5]) then
        requeue(id, k, f[1], f[3], 'running', math.max(retry_at, now), now)
      else
        finish(id, k, f[1], f[3], 'running', 'failed', now)
      end
      return 'OK'
      """);

  /** ARGV: P, id, token. Back at once, the attempt not counted. */
  static final Script RELEASE = Script.of("release", """
      local id = ARGV[2]
      local k = tkey(id)
      local refused = fence(k, ARGV[3])
      if refused then return refused end
      local now = now_ms()
      local f = rcall('HMGET', k, 'priority', 'entry', 'seq')
      unline(id, f[1], f[2])
      rcall('HINCRBY', k, 'attempts', -1)
      requeue(id, k, f[1], f[3], 'running', now, now)
      return 'OK'
      """);

  /**
   * ARGV: P, min idle ms, max lost. XAUTOCLAIM finds the entries nobody touched for min idle; the
   * hash's lease_until decides: expired ones go back in line, the lost run not counted as an attempt
   * (or fail once the task lost max lost workers),
   * and one extended with a visibility longer than min idle is handed back to its owner with its
   * idle time. Safe from several instances at once: each entry is judged inside one script.
   */
  static final Script RECLAIM = Script.of("reclaim", """
      local min_idle = ARGV[2]
      local max_lost = tonumber(ARGV[3])
      local now = now_ms()
      local n = 0
      for _, p in ipairs(PRIORITIES) do
        local s = skey(p)
        if rcall('EXISTS', s) == 1 then
          local cursor = '0-0'
          local rounds = 0
          repeat
            local r = redis.pcall('XAUTOCLAIM', s, G, 'reclaimer', min_idle, cursor, 'COUNT', 100, 'JUSTID')
            if r.err then break end
            cursor = r[1]
            rounds = rounds + 1
            for _, entry in ipairs(r[2]) do
              local e = rcall('XRANGE', s, entry, entry)
              local id = e[1] and e[1][2][2]
              local k = id and tkey(id)
              local f = k and rcall('HMGET', k, 'status', 'entry', 'lease_until', 'lease_owner', 'leased_at',
                'attempts', 'max_attempts', 'seq')
              if not f or f[1] ~= 'running' or f[2] ~= entry then
                rcall('XACK', s, G, entry)
                rcall('XDEL', s, entry)
              elseif tonumber(f[3]) > now then
                rcall('XCLAIM', s, G, f[4], 0, entry, 'IDLE', int(math.max(0, now - tonumber(f[5]))), 'JUSTID')
              else
                n = n + 1
                unline(id, p, entry)
                local lost = rcall('HINCRBY', k, 'lost', 1)
                -- the lost run is taken back out of attempts: the task did not fail, its worker died
                if tonumber(f[6]) > 0 then rcall('HINCRBY', k, 'attempts', -1) end
                if lost >= max_lost then
                  rcall('HSET', k, 'error', 'worker lost ' .. lost .. ' times (queue.max_lost)')
                  finish(id, k, p, f[8], 'running', 'failed', now)
                else
                  requeue(id, k, p, f[8], 'running', now, now)
                end
              end
            end
          until cursor == '0-0' or rounds >= 10
          -- consumers (worker names) that hold nothing and were idle for an hour are forgotten
          local consumers = redis.pcall('XINFO', 'CONSUMERS', s, G)
          if not consumers.err then
            for _, c in ipairs(consumers) do
              local name, pending, idle
              for i = 1, #c, 2 do
                if c[i] == 'name' then name = c[i + 1]
                elseif c[i] == 'pending' then pending = c[i + 1]
                elseif c[i] == 'idle' then idle = c[i + 1] end
              end
              if name and pending == 0 and idle and idle > 3600000 then
                rcall('XGROUP', 'DELCONSUMER', s, G, name)
              end
            end
          end
        end
      end
      return n
      """);

  /** ARGV: P, id. Answers {DONE|CONFLICT|NOT_FOUND, fields}. A running task keeps its token. */
  static final Script CANCEL = Script.of("cancel", """
      local id = ARGV[2]
      local k = tkey(id)
      local f = rcall('HMGET', k, 'status', 'priority', 'entry', 'seq')
      if not f[1] then return {'NOT_FOUND'} end
      if finished(f[1]) then return {'CONFLICT', rcall('HGETALL', k)} end
      unline(id, f[2], f[3])
      rcall('HDEL', k, 'result')
      finish(id, k, f[2], f[4], f[1], 'cancelled', now_ms())
      return {'DONE', rcall('HGETALL', k)}
      """);

  /** ARGV: P, id. A failed or cancelled task back in line with attempts from zero; its result stays. */
  static final Script RETRY = Script.of("retry", """
      local id = ARGV[2]
      local k = tkey(id)
      local f = rcall('HMGET', k, 'status', 'priority', 'seq')
      if not f[1] then return {'NOT_FOUND'} end
      if f[1] ~= 'failed' and f[1] ~= 'cancelled' then return {'CONFLICT', rcall('HGETALL', k)} end
      local now = now_ms()
      rcall('ZREM', DONE, id)
      rcall('HSET', k, 'attempts', 0, 'lost', 0)
      rcall('HDEL', k, 'error')
      requeue(id, k, f[2], f[3], f[1], now, now)
      return {'DONE', rcall('HGETALL', k)}
      """);

  /**
   * ARGV: P, status (''), priority (''), limit, below (a sequence number, '' for the top). Merges
   * the index sets that match, newest first. Answers {next cursor seq or '', tasks' fields...}.
   */
  static final Script LIST = Script.of("list", """
      local statuses = ARGV[2] ~= '' and {ARGV[2]} or {'queued', 'running', 'succeeded', 'failed', 'cancelled'}
      local priorities = ARGV[3] ~= '' and {ARGV[3]} or PRIORITIES
      local limit = tonumber(ARGV[4])
      local top = ARGV[5] ~= '' and ('(' .. ARGV[5]) or '+inf'
      local found = {}
      for _, s in ipairs(statuses) do
        for _, p in ipairs(priorities) do
          local r = rcall('ZREVRANGEBYSCORE', ikey(s, p), top, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 1)
          for i = 1, #r, 2 do found[#found + 1] = {tonumber(r[i + 1]), r[i]} end
        end
      end
      table.sort(found, function(a, b) return a[1] > b[1] end)
      local out = {''}
      local last = nil
      local taken = 0
      for _, e in ipairs(found) do
        if taken == limit then
          out[1] = int(last)
          break
        end
        local t = rcall('HGETALL', tkey(e[2]))
        if #t > 0 then
          -- a listing does not show traces (up to 32 KB each): they stay in Redis
          local kept = {}
          for i = 1, #t, 2 do
            if t[i] ~= 'trace' then
              kept[#kept + 1] = t[i]
              kept[#kept + 1] = t[i + 1]
            end
          end
          out[#out + 1] = kept
          taken = taken + 1
          last = e[1]
        end
      end
      return out
      """);

  /**
   * ARGV: P. Per priority: waiting (runnable), scheduled (not due yet), age ms of the oldest
   * runnable (the first undelivered entry of the stream, or a due task the mover has not moved
   * yet); then running. All as strings.
   */
  static final Script STATS = Script.of("stats", """
      local now = now_ms()
      local out = {}
      local running = 0
      for _, p in ipairs(PRIORITIES) do
        local queued = rcall('ZCARD', ikey('queued', p))
        local scheduled = rcall('ZCOUNT', dkey(p), '(' .. int(now), '+inf')
        local oldest = nil
        local due = rcall('ZRANGEBYSCORE', dkey(p), '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1)
        if due[2] then oldest = tonumber(due[2]) end
        if rcall('EXISTS', skey(p)) == 1 then
          local groups = redis.pcall('XINFO', 'GROUPS', skey(p))
          local last = '0-0'
          if not groups.err then
            for _, g in ipairs(groups) do
              local name, delivered
              for i = 1, #g, 2 do
                if g[i] == 'name' then name = g[i + 1]
                elseif g[i] == 'last-delivered-id' then delivered = g[i + 1] end
              end
              if name == G and delivered then last = delivered end
            end
          end
          local first = rcall('XRANGE', skey(p), '(' .. last, '+', 'COUNT', 1)
          if first[1] then
            local fields = first[1][2]
            for i = 1, #fields, 2 do
              if fields[i] == 'ready' then
                local ready = tonumber(fields[i + 1])
                if not oldest or ready < oldest then oldest = ready end
              end
            end
          end
        end
        out[#out + 1] = int(queued - scheduled)
        out[#out + 1] = int(scheduled)
        out[#out + 1] = int(oldest and math.max(0, now - oldest) or 0)
        running = running + rcall('ZCARD', ikey('running', p))
      end
      out[#out + 1] = int(running)
      return out
      """);

  /** ARGV: P, before (epoch ms), batch. Answers how many were removed (a full batch: call again). */
  static final Script PURGE = Script.of("purge", """
      local ids = rcall('ZRANGEBYSCORE', DONE, '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
      local n = 0
      for _, id in ipairs(ids) do
        local k = tkey(id)
        local f = rcall('HMGET', k, 'status', 'priority', 'idem')
        if f[1] and finished(f[1]) then
          rcall('ZREM', ikey(f[1], f[2]), id)
          if f[3] and rcall('GET', f[3]) == id then rcall('DEL', f[3]) end
          rcall('DEL', k)
          n = n + 1
        end
        rcall('ZREM', DONE, id)
      end
      return {n, #ids}
      """);

  /** ARGV: P. The earliest time a waiting task comes due (a past time: due already), or false. */
  static final Script NEXT_DUE = Script.of("next_due", """
      local next = nil
      for _, p in ipairs(PRIORITIES) do
        local first = rcall('ZRANGE', dkey(p), 0, 0, 'WITHSCORES')
        if first[2] and (not next or tonumber(first[2]) < next) then next = tonumber(first[2]) end
      end
      if next then return int(next) end
      return false
      """);
}
