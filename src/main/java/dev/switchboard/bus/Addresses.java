package dev.switchboard.bus;

/**
 * Every event-bus address, in one place. The component that owns an address is the first word;
 * request/reply addresses are verbs, published ones are nouns.
 */
public final class Addresses {

  private Addresses() {
  }

  /** Empty → {@code {"reloaded": true}}: re-read {@code server.tls}'s files and use them for new handshakes. */
  public static final String TLS_RELOAD = "ingress.tls.reload";
  /** JSON {@code {trigger, subject}} → what a reload changed (config.ReloadVerticle), or a 400 naming the file and key. */
  public static final String CONFIG_RELOAD = "config.reload";
  /** ModelSettings → JSON array of the providers kept as they were: swap the providers, groups and retry settings. */
  public static final String MODEL_RELOAD = "model.reload";
  /** ChannelSettings → empty: channel push swaps the bots it pushes to. */
  public static final String CHANNEL_RELOAD = "channel.reload";
  /** ChannelSettings → empty: inbound swaps the bots and hooks it accepts. */
  public static final String INBOUND_RELOAD = "inbound.reload";
  /** ModelSettings → empty: the task queue learns whether any provider is on (tasks are refused while none is). */
  public static final String TASK_RELOAD = "task.reload";
  /** RulesSettings → empty: the rules swap their set (and the channels they may push to). */
  public static final String RULES_RELOAD = "rules.reload";
  /**
   * {@link ChatCall} → {@link UpstreamReply}: one non-streaming chat completion, for callers that
   * wait on it inside the gateway (memory, agent, bridges). A client's call goes to {@link #MODEL_CALL}.
   */
  public static final String MODEL_CHAT = "model.chat";
  /**
   * {@link ChatCall} with an id, sent (no reply): the call's {@link CallEvent}s go to its id, which
   * the sender has registered first; streaming or not, the id cancels it ({@link #MODEL_CANCEL}).
   */
  public static final String MODEL_CALL = "model.call";
  /** String call id: the client went away, cancel the upstream request. Answered once nothing more is sent to the id. */
  public static final String MODEL_CANCEL = "model.cancel";
  /** String call id: the client cannot keep up, stop reading the upstream for now. */
  public static final String MODEL_PAUSE = "model.pause";
  /** String call id: the client drained its buffer, read on. */
  public static final String MODEL_RESUME = "model.resume";
  /** String {@code by} → JSON usage totals. */
  public static final String MODEL_USAGE = "model.usage";
  /** Empty → JSON list of deployments and their state. */
  public static final String MODEL_PROVIDERS = "model.providers";
  /** Empty → {@link UpstreamReply}: the OpenAI model list. */
  public static final String MODEL_LIST = "model.list";
  /** JSON array of texts → the OpenAI embeddings answer of the provider named in {@code embeddings:}. */
  public static final String MODEL_EMBED = "model.embed";
  /** Empty → {@link Health}: one entry per provider. */
  public static final String MODEL_HEALTH = "model.health";
  /**
   * Empty → JSON {model, source, provider}: the model for a task or conversation that names none;
   * source is configured (default_model), listed (the default provider's first model in its
   * models: list) or discovered (the first model its /models answered); model and source are null
   * when none can be found. JSON {wait_ms} instead waits up to that long for the start-up discovery.
   */
  public static final String MODEL_DEFAULT = "model.default";

  /** Empty → JSON {id, version, started_at, leader}: this instance. */
  public static final String CLUSTER_SELF = "cluster.self";
  /** Empty → JSON {data: [{id, version, started_at, running, leader}]}: the live instances; failure 503 when Redis is down. */
  public static final String CLUSTER_INSTANCES = "cluster.instances";
  /** Published locally each time this instance gains or loses the lead: JSON {leader, token, holder}. */
  public static final String CLUSTER_LEADER = "cluster.leader";

  /** {@link TaskSubmission.Target} → null, or failure 400 saying why the channel cannot be used. */
  public static final String CHANNEL_CHECK = "channel.check";
  /**
   * {@link PushRequest} → JSON delivery record: the push is recorded (once per task and bot) and
   * then made in the background, with rate limits and retries.
   */
  public static final String CHANNEL_PUSH = "channel.push";
  /** JSON query {status, channel, bot, cursor, limit} → JSON page of delivery records. */
  public static final String CHANNEL_DELIVERIES = "channel.deliveries";
  /** String task id → JSON array of its delivery records. */
  public static final String CHANNEL_TASK_DELIVERIES = "channel.task.deliveries";
  /** String delivery id → JSON record, pushed again; 404 unknown, 409 when not failed or dead. */
  public static final String CHANNEL_RETRY = "channel.retry";

  /**
   * Empty → {@link Health} with the entries {@code deliveries} (the delivery store, and the rate
   * windows that share its Redis on the distributed profile) and {@code claims} (the inbound side's).
   */
  public static final String CHANNEL_HEALTH = "channel.health";
  /** Empty → {@link Health}: the inbound claim store. */
  public static final String CHANNEL_INBOUND_HEALTH = "channel.inbound.health";

  /** {@link InboundHook} → JSON {status: accepted|duplicate, id}, or failure 401/404/400. */
  public static final String CHANNEL_INBOUND_HOOK = "channel.inbound.hook";

  /** {@link InboundDingTalk} → JSON {status: accepted|ignored, task_id}, or failure 401/404/400. */
  public static final String CHANNEL_INBOUND_DINGTALK = "channel.inbound.dingtalk";

  /** {@link InboundFeishu} → the JSON to answer Feishu with (challenge or success), or failure 401/404/400. */
  public static final String CHANNEL_INBOUND_FEISHU = "channel.inbound.feishu";

  /** {@link InboundWeCom} → String plain-text answer (the echo, or "success"), or failure 401/404/400. */
  public static final String CHANNEL_INBOUND_WECOM = "channel.inbound.wecom";

  /** {@link InboundAlert} → JSON {status: accepted|duplicate, id}, or failure 401/404/400. */
  public static final String CHANNEL_INBOUND_ALERT = "channel.inbound.alert";

  /**
   * {@link InboundPlugin} (a request to {@code /webhooks/{platform}/{bot}} for a plug-in channel) →
   * {@link InboundPlugin.Answer} (what the plug-in answers the platform), or failure 404 (no such
   * plug-in platform or bot) / 503 (the bot is off, or the event could not be stored) / the plug-in's refusal.
   */
  public static final String CHANNEL_INBOUND_PLUGIN = "channel.inbound.plugin";

  /** JSON {bot, message}: a DingTalk robot message that arrived over Stream mode, already authenticated. */
  public static final String CHANNEL_DINGTALK_MESSAGE = "channel.dingtalk.message";

  /**
   * JSON {bot, event}: a Feishu/Lark v2 event (the plaintext JSON, as a webhook's after decryption)
   * that arrived over the app's long connection, already authenticated → a reply once it is
   * handled (the connection acknowledges the frame then), or a failure (acknowledged 500: Feishu
   * pushes it again).
   */
  public static final String CHANNEL_FEISHU_EVENT = "channel.feishu.event";

  /**
   * JSON {conversation, limit} → JSON array of chat messages, oldest first; the running summary of
   * older turns, when there is one, comes first as a system message.
   */
  public static final String MEMORY_HISTORY = "memory.history";
  /** JSON {conversation, turns: [chat messages]} → null once stored (or queued until the store is back). */
  public static final String MEMORY_REMEMBER = "memory.remember";
  /** JSON {content, scope, source, expires_at, supersedes} → JSON {id, status: created|duplicate|updated|superseded}. */
  public static final String MEMORY_ADD = "memory.add";
  /** JSON {q, scope | scopes, k} → JSON {data: [memory with score]}. */
  public static final String MEMORY_SEARCH = "memory.search";
  /**
   * JSON {q, scopes} → JSON {data, prompt}: the memories worth putting in a prompt (the configured
   * number, above the minimum score) and the system message text that presents them with their
   * sources; prompt is null when there are none.
   */
  public static final String MEMORY_RECALL = "memory.recall";
  /** JSON {scope, status, limit, cursor} → JSON {data, next_cursor}. */
  public static final String MEMORY_LIST = "memory.list";
  /** String id → JSON memory with its history, or failure 404. */
  public static final String MEMORY_GET = "memory.get";
  /** String id → null, or failure 404. */
  public static final String MEMORY_DELETE = "memory.delete";
  /** JSON OpenAI embeddings request {input, model} → OpenAI embeddings answer. */
  public static final String MEMORY_EMBED = "memory.embed";
  /** Empty → {@link Health}: short-term and long-term stores, embeddings. */
  public static final String MEMORY_HEALTH = "memory.health";

  /** Empty → JSON {data: [{name, description, source, blocking, parameters}]}: the skills an agent can be offered. */
  public static final String AGENT_SKILLS = "agent.skills";

  /** Empty → JSON {data: [{id, version, type, file, sha256, state, reason, provides, next_start}]}: the plug-in jars found at start. */
  public static final String PLUGINS_LIST = "plugins.list";

  /**
   * JSON {id, enabled} → JSON plug-in view plus {@code applies} ("now" for skills, "next start" for the
   * others); the choice is kept in the data folder. Failure 404 unknown id, 409 refused plug-in.
   */
  public static final String PLUGINS_SET = "plugins.set";

  /** {@link TaskSubmission} → JSON task view (id, status). */
  public static final String TASK_SUBMIT = "task.submit";
  /** String id → JSON task view, or failure 404. */
  public static final String TASK_GET = "task.get";
  /** JSON {status, priority, limit, cursor} → JSON {data: [task views], next_cursor}. */
  public static final String TASK_LIST = "task.list";
  /** String id → JSON task view once cancelled; failure 404 unknown, 409 finished. */
  public static final String TASK_CANCEL = "task.cancel";
  /** String id → JSON task view, queued again; failure 404 unknown, 409 unless failed or cancelled. */
  public static final String TASK_RETRY = "task.retry";
  /** Empty → {@link Health}: store, queue (running: this instance's) and default model. */
  public static final String TASK_HEALTH = "task.health";
  /**
   * Published locally: JSON {id, status: queued|succeeded|failed, result, error, time} each time a task
   * is queued (newly stored) or finishes for good on this instance; the bridges' public
   * {@code switchboard.tasks.events} is made from it (bridge/PublicApi).
   */
  public static final String TASK_EVENTS = "task.events";

  /**
   * JSON normalised inbound event (type message, webhook or alert; see events/) → JSON
   * {status: accepted|duplicate, id} once it is stored durably and claimed; the rules get it from
   * the store, so an event acknowledged to its platform is never lost.
   */
  public static final String EVENTS_INBOUND = "events.inbound";
  /**
   * Published locally: JSON event raised by a component for the rules (type task, delivery,
   * provider, or one a rule emits); not stored.
   */
  public static final String EVENTS_RAISE = "events.raise";
  /**
   * JSON {type, platform, limit, cursor} (strings, as the query gave them) → JSON {data: [event,
   * each with handled_at], next_cursor}, newest first; failure 400 for a bad limit or cursor.
   */
  public static final String EVENTS_LIST = "events.list";
  /** Published locally: JSON inbound event, as the rules get it, once it is stored the first time (not for a duplicate). */
  public static final String EVENTS_RECEIVED = "events.received";
  /** Empty → {@link Health}: the entry {@code events} (the event store). */
  public static final String EVENTS_HEALTH = "events.health";

  /** JSON event → JSON {fired: [rule names]} once the matching rules' actions have started; a failure means try again. */
  public static final String RULES_EVENT = "rules.event";
  /** JSON {rule, definition (for a schedule made at run time), event} → null once the rule's actions have started. */
  public static final String RULES_FIRE = "rules.fire";
  /** JSON rule definition → null when it compiles, or failure 400 naming the rule and the problem. */
  public static final String RULES_VALIDATE = "rules.validate";
  /** Empty → JSON {data: [rule with state], revision}. */
  public static final String RULES_LIST = "rules.list";
  /** JSON {rules: [...]} → the new set as RULES_LIST answers it, or failure 400 (the running set unchanged). */
  public static final String RULES_PUT = "rules.put";
  /** JSON {event} → JSON {data: [{rule, matched, actions}]}, nothing executed. */
  public static final String RULES_TEST = "rules.test";
  /** Empty → {@link Health}: the rules file (its last load error, if any). */
  public static final String RULES_HEALTH = "rules.health";

  /**
   * JSON {rules: [{rule, schedule}]}: the schedules of the rules file, replacing the previous ones →
   * JSON {schedules: how many were taken, ignored: [names held by API schedules]}.
   */
  public static final String SCHEDULES_SYNC = "schedules.sync";
  /** Empty → JSON {data: [{rule, next_fire, last_fire, source, schedule}]}. */
  public static final String SCHEDULES_LIST = "schedules.list";
  /** JSON rule with a schedule trigger → JSON schedule entry, kept across restarts; failure 400/409. */
  public static final String SCHEDULES_ADD = "schedules.add";
  /** String rule name → null, or failure 404. */
  public static final String SCHEDULES_DELETE = "schedules.delete";

  /**
   * JSON {jti, exp?} or {token} → JSON {jti, revoked: true, exp}, once stored; failure 400 for a
   * body that names no token (or a token none of our keys signed).
   */
  public static final String TOKENS_REVOKE = "tokens.revoke";
  /** {@code audit.AuditEvent}, sent (no reply): one record for the audit log (see audit.Audit#record). */
  public static final String AUDIT_RECORD = "audit.record";
  /** JSON {subject, action, since, limit, cursor} (strings, as the query gave them) → JSON {data: [record], next_cursor}; failure 400. */
  public static final String AUDIT_QUERY = "audit.query";
  /** Empty → {@link Health}: the entry {@code audit} (up, degraded while events wait in the spool, off). */
  public static final String AUDIT_HEALTH = "audit.health";
  /**
   * {@link RateTake} → Long: 0 when a token was taken, else the ms until the bucket has one. Never a
   * failure for a store that cannot be asked: the request then goes through unchecked.
   */
  public static final String SECURITY_RATE_TAKE = "security.rate.take";

  /** Prefix of the call ids: the per-call addresses that carry a model call's events back to the HTTP ingress. */
  public static final String CALL_PREFIX = "ingress.call.";
}
