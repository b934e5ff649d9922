package dev.switchboard.channel;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.InboundDingTalk;
import dev.switchboard.bus.InboundFeishu;
import dev.switchboard.bus.InboundWeCom;
import dev.switchboard.bus.InboundHook;
import dev.switchboard.bus.TaskSubmission;
import io.vertx.core.json.JsonArray;
import java.util.List;
import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/**
 * What platforms and other systems send in. Generic webhooks ({@code POST /webhooks/hooks/{name}}):
 * signature and timestamp checked, the sender's delivery id claimed so that a re-delivery is
 * accepted once, the JSON body published as an event for the rules. DingTalk enterprise robot
 * callbacks ({@code POST /webhooks/dingtalk/{bot}}): signature and timestamp checked, each text
 * message becomes a task (one per message id, so a re-delivery never gets two answers) whose
 * result is the reply in the same conversation.
 */
public final class InboundVerticle extends VerticleBase {

  /** A timestamp further than this from now is refused (replays, clock trouble). */
  static final Duration WINDOW = Duration.ofMinutes(5);
  /** How long a delivery id stays claimed; platforms re-deliver for hours, not days. */
  static final Duration CLAIM_TTL = Duration.ofHours(24);

  private final ChannelSettings settings;
  private final Path dataDir;
  private ClaimStore claims;
  private EmbeddedStore store;
  private long sweeper = -1;

  public InboundVerticle(ChannelSettings settings, Path dataDir) {
    this.settings = settings;
    this.dataDir = dataDir;
  }

  @Override
  public Future<?> start() {
    return EmbeddedStore.open(vertx, dataDir)
        .compose(s -> {
          store = s;
          claims = new ClaimStore(s);
          return claims.init();
        })
        .compose(v -> Future.all(
            vertx.eventBus().<InboundHook>localConsumer(Addresses.CHANNEL_INBOUND_HOOK, this::receive).completion(),
            vertx.eventBus().<InboundDingTalk>localConsumer(Addresses.CHANNEL_INBOUND_DINGTALK, this::dingtalk).completion(),
            vertx.eventBus().<InboundFeishu>localConsumer(Addresses.CHANNEL_INBOUND_FEISHU, this::feishu).completion(),
            vertx.eventBus().<InboundWeCom>localConsumer(Addresses.CHANNEL_INBOUND_WECOM, this::wecom).completion(),
            vertx.eventBus().<JsonObject>localConsumer(Addresses.CHANNEL_DINGTALK_MESSAGE, this::dingtalkStreamMessage).completion()))
        .onSuccess(v -> sweeper = vertx.setPeriodic(Duration.ofMinutes(10).toMillis(), id -> claims.sweep()));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweeper);
    return store == null ? Future.succeededFuture() : store.close();
  }

  private void receive(Message<InboundHook> message) {
    try {
      receiveChecked(message);
    } catch (RuntimeException e) {
      Failure.reply(message, Failure.badRequest("invalid_body", "the request cannot be read: " + e.getMessage()));
    }
  }

  private void receiveChecked(Message<InboundHook> message) {
    InboundHook hook = message.body();
    String secret = settings.inboundHooks().get(hook.name());
    if (secret == null) {
      Failure.reply(message, Failure.notFound("hook_not_found", "no inbound webhook named '" + hook.name() + "'"));
      return;
    }
    if (secret.isEmpty()) {
      Failure.reply(message, Failure.unavailable("hook_off", "inbound webhook '" + hook.name() + "' is off: its secret is unset"));
      return;
    }
    long ts;
    try {
      ts = Long.parseLong(hook.timestamp() == null ? "" : hook.timestamp().trim());
    } catch (NumberFormatException e) {
      Failure.reply(message, Failure.unauthorized("x-switchboard-timestamp must be unix seconds"));
      return;
    }
    if (Math.abs(Instant.now().getEpochSecond() - ts) > WINDOW.toSeconds()) {
      Failure.reply(message, Failure.unauthorized("x-switchboard-timestamp is more than 5 minutes away from now"));
      return;
    }
    String expected = WebhookBot.signature(secret, ts, hook.body());
    String given = hook.signature() == null ? "" : hook.signature().trim();
    if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), given.getBytes(StandardCharsets.US_ASCII))) {
      Failure.reply(message, Failure.unauthorized("x-switchboard-signature does not match the body"));
      return;
    }
    JsonObject body;
    try {
      body = hook.body().toJsonObject();
    } catch (RuntimeException e) {
      Failure.reply(message, Failure.badRequest("invalid_json", "the webhook body must be a JSON object"));
      return;
    }
    String id = hook.deliveryId() != null && !hook.deliveryId().isBlank() ? hook.deliveryId().trim() : null;
    Future<Boolean> fresh = id == null ? Future.succeededFuture(true) : claims.claim("hook:" + hook.name() + ":" + id, CLAIM_TTL.toMillis());
    fresh.onComplete(ar -> {
      if (ar.failed()) {
        Failure.reply(message, Failure.unavailable("store_unavailable", "the claim store is unavailable: " + ar.cause().getMessage()));
        return;
      }
      if (!ar.result()) {
        message.reply(new JsonObject().put("status", "duplicate").put("delivery", id));
        return;
      }
      String eventId = UUID.randomUUID().toString();
      vertx.eventBus().publish(Addresses.EVENTS_WEBHOOK, new JsonObject()
          .put("id", eventId)
          .put("source", "webhook")
          .put("hook", hook.name())
          .put("delivery", id)
          .put("received_at", Instant.now().toString())
          .put("body", body));
      message.reply(new JsonObject().put("status", "accepted").put("id", eventId));
    });
  }

  /** DingTalk allows its callback timestamp to be an hour off. */
  static final Duration DINGTALK_WINDOW = Duration.ofHours(1);

  private void dingtalk(Message<InboundDingTalk> message) {
    try {
      dingtalkChecked(message);
    } catch (RuntimeException e) {
      Failure.reply(message, Failure.badRequest("invalid_body", "the request cannot be read: " + e.getMessage()));
    }
  }

  private void dingtalkChecked(Message<InboundDingTalk> message) {
    InboundDingTalk in = message.body();
    DingTalkApp app = settings.dingtalkApps().get(in.bot());
    if (app == null) {
      Failure.reply(message, Failure.notFound("bot_not_found", "no dingtalk app robot named '" + in.bot() + "'"));
      return;
    }
    if (app.offReason() != null) {
      Failure.reply(message, Failure.unavailable("bot_off", "dingtalk robot '" + in.bot() + "' is off: " + app.offReason()));
      return;
    }
    long ts;
    try {
      ts = Long.parseLong(in.timestamp() == null ? "" : in.timestamp().trim());
    } catch (NumberFormatException e) {
      Failure.reply(message, Failure.unauthorized("the timestamp header must be epoch milliseconds"));
      return;
    }
    if (Math.abs(System.currentTimeMillis() - ts) > DINGTALK_WINDOW.toMillis()) {
      Failure.reply(message, Failure.unauthorized("the timestamp header is more than an hour away from now"));
      return;
    }
    String sign = in.sign() == null ? "" : in.sign().trim();
    if (!MessageDigest.isEqual(app.expectedSign(ts).getBytes(StandardCharsets.US_ASCII), sign.getBytes(StandardCharsets.US_ASCII))) {
      Failure.reply(message, Failure.unauthorized("the sign header does not match"));
      return;
    }
    JsonObject body;
    try {
      body = in.body().toJsonObject();
    } catch (RuntimeException e) {
      Failure.reply(message, Failure.badRequest("invalid_json", "the callback body must be a JSON object"));
      return;
    }
    answerDingTalk(in.bot(), body).onComplete(ar -> {
      if (ar.succeeded()) {
        message.reply(ar.result());
      } else {
        Failure.reply(message, ar.cause());
      }
    });
  }

  /** A robot message from Stream mode: the connection was authenticated when it was opened. */
  private void dingtalkStreamMessage(Message<JsonObject> message) {
    try {
      dingtalkStreamMessageChecked(message);
    } catch (RuntimeException e) {
      Failure.reply(message, Failure.badRequest("invalid_body", "the request cannot be read: " + e.getMessage()));
    }
  }

  private void dingtalkStreamMessageChecked(Message<JsonObject> message) {
    answerDingTalk(message.body().getString("bot"), message.body().getJsonObject("message")).onComplete(ar -> {
      if (ar.succeeded()) {
        message.reply(ar.result());
      } else {
        Failure.reply(message, ar.cause());
      }
    });
  }

  /**
   * A text message becomes a task answered through the message's sessionWebhook, once per msgId
   * (the task's idempotency key), whichever way the message came in.
   */
  private Future<JsonObject> answerDingTalk(String bot, JsonObject body) {
    JsonObject text = body.getValue("text") instanceof JsonObject t ? t : new JsonObject();
    String content = text.getValue("content") instanceof String c ? c.trim() : "";
    String msgId = body.getValue("msgId") instanceof String id ? id : null;
    String session = body.getValue("sessionWebhook") instanceof String w ? w : null;
    if (!"text".equals(body.getString("msgtype")) || content.isEmpty() || msgId == null || session == null) {
      // pictures, files and the like have no answer yet; acknowledged so the platform does not resend
      return Future.succeededFuture(new JsonObject().put("status", "ignored"));
    }
    boolean group = "2".equals(body.getString("conversationType"));
    List<String> sender = new java.util.ArrayList<>();
    for (String key : new String[] {"senderStaffId", "senderId"}) {
      if (body.getValue(key) instanceof String id) {
        sender.add(id);
      }
    }
    InboundPolicy policy = settings.policy("dingtalk", bot);
    if (!policy.permits(sender, body.getString("conversationId"), group, !Boolean.FALSE.equals(body.getValue("isInAtList")))) {
      return Future.succeededFuture(new JsonObject().put("status", "ignored"));
    }
    JsonArray at = new JsonArray();
    if (group && body.getValue("senderStaffId") instanceof String staff) {
      at.add(staff);
    }
    JsonObject address = new JsonObject()
        .put("session_webhook", session)
        .put("expires_at", body.getValue("sessionWebhookExpiredTime"))
        .put("conversation_id", body.getValue("conversationId"))
        .put("conversation_type", body.getValue("conversationType"))
        .put("sender_staff_id", body.getValue("senderStaffId"))
        .put("at_user_ids", at);
    String conversationId = body.getValue("conversationId") instanceof String cid ? cid : session;
    TaskSubmission.Conversation conversation = new TaskSubmission.Conversation(
        policy.conversationKey("dingtalk", bot, conversationId, group, sender.isEmpty() ? null : sender.get(0)), policy.historyTurns());
    TaskSubmission task = new TaskSubmission(content, null,
        List.of(new TaskSubmission.Target("dingtalk", bot, address)), TaskSubmission.Priority.NORMAL,
        "dingtalk:" + msgId, "dingtalk:" + bot, conversation, 0,
        memoryScopes("dingtalk", conversationId, body.getValue("senderStaffId") instanceof String staff ? staff
            : sender.isEmpty() ? null : sender.get(0), group));
    return vertx.eventBus().<JsonObject>request(Addresses.TASK_SUBMIT, task)
        .map(reply -> new JsonObject().put("status", "accepted").put("task_id", reply.body().getString("id")));
  }

  /**
   * Long-term memory a chat message may use. A group uses its own scope only: what someone said
   * elsewhere, in private or in another group, never surfaces in front of this group. A direct chat
   * uses the person's scope (first: where the agent remembers by default) and its own.
   */
  private static List<String> memoryScopes(String platform, String conversation, String sender, boolean group) {
    List<String> scopes = new java.util.ArrayList<>();
    if (!group && sender != null && !sender.isBlank()) {
      scopes.add("user:" + platform + ":" + sender);
    }
    if (conversation != null && !conversation.isBlank()) {
      scopes.add("conversation:" + platform + ":" + conversation);
    }
    return scopes;
  }

  private static final JsonObject FEISHU_OK = new JsonObject().put("msg", "success");

  /**
   * Feishu/Lark events: the challenge is answered in plain text (decrypted first when the app
   * encrypts); other events must carry a valid signature (when an encrypt key is set) and the
   * verification token. A text message becomes a task, once per event id, answered as a reply.
   */
  private void feishu(Message<InboundFeishu> message) {
    try {
      feishuChecked(message);
    } catch (RuntimeException e) {
      Failure.reply(message, Failure.badRequest("invalid_body", "the request cannot be read: " + e.getMessage()));
    }
  }

  private void feishuChecked(Message<InboundFeishu> message) {
    InboundFeishu in = message.body();
    FeishuApp app = settings.feishuApps().get(in.bot());
    if (app == null) {
      Failure.reply(message, Failure.notFound("bot_not_found", "no feishu app bot named '" + in.bot() + "'"));
      return;
    }
    if (app.offReason() != null) {
      Failure.reply(message, Failure.unavailable("bot_off", "feishu bot '" + in.bot() + "' is off: " + app.offReason()));
      return;
    }
    JsonObject event;
    try {
      JsonObject outer = in.body().toJsonObject();
      if (outer.getValue("encrypt") instanceof String encrypted) {
        if (app.encryptKey().isEmpty()) {
          Failure.reply(message, Failure.badRequest("encrypted_without_key", "the event is encrypted but no encrypt_key is configured"));
          return;
        }
        event = new JsonObject(app.decrypt(encrypted));
      } else {
        event = outer;
      }
    } catch (RuntimeException e) {
      Failure.reply(message, Failure.badRequest("invalid_event", "the event body cannot be read: " + e.getMessage()));
      return;
    }
    if ("url_verification".equals(event.getString("type"))) {
      if (!app.verificationToken().isEmpty() && !app.verificationToken().equals(event.getString("token"))) {
        Failure.reply(message, Failure.unauthorized("the verification token does not match"));
        return;
      }
      message.reply(new JsonObject().put("challenge", event.getString("challenge")));
      return;
    }
    if (!app.encryptKey().isEmpty()) {
      String expected = app.signature(String.valueOf(in.timestamp()), String.valueOf(in.nonce()), in.body().getBytes());
      String given = in.signature() == null ? "" : in.signature().trim().toLowerCase();
      if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), given.getBytes(StandardCharsets.US_ASCII))) {
        Failure.reply(message, Failure.unauthorized("X-Lark-Signature does not match the body"));
        return;
      }
    }
    JsonObject header = event.getJsonObject("header", new JsonObject());
    if (!app.verificationToken().isEmpty() && !app.verificationToken().equals(header.getString("token"))) {
      Failure.reply(message, Failure.unauthorized("the verification token does not match"));
      return;
    }
    JsonObject eventBody = event.getJsonObject("event", new JsonObject());
    JsonObject msg = eventBody.getJsonObject("message", new JsonObject());
    String eventId = header.getString("event_id");
    String text = "";
    if ("im.message.receive_v1".equals(header.getString("event_type")) && "text".equals(msg.getString("message_type"))) {
      try {
        text = new JsonObject(msg.getString("content", "{}")).getString("text", "");
      } catch (RuntimeException e) {
        text = "";
      }
      // mentions arrive as placeholders (@_user_1); the bot's own name is not part of the question
      text = text.replaceAll("@_user_\\d+", "").trim();
    }
    List<String> sender = new java.util.ArrayList<>();
    JsonObject senderIds = eventBody.getJsonObject("sender", new JsonObject()).getJsonObject("sender_id", new JsonObject());
    for (String key : new String[] {"open_id", "user_id", "union_id"}) {
      if (senderIds.getValue(key) instanceof String id) {
        sender.add(id);
      }
    }
    boolean group = "group".equals(msg.getString("chat_type"));
    boolean mentioned = msg.getValue("mentions") instanceof JsonArray mentions && !mentions.isEmpty();
    InboundPolicy policy = settings.policy("feishu", in.bot());
    if (text.isEmpty() || eventId == null || msg.getString("message_id") == null
        || !policy.permits(sender, msg.getString("chat_id"), group, mentioned)) {
      message.reply(FEISHU_OK);
      return;
    }
    JsonObject address = new JsonObject().put("message_id", msg.getString("message_id")).put("chat_id", msg.getString("chat_id"));
    String chat = msg.getString("chat_id", msg.getString("message_id"));
    TaskSubmission.Conversation conversation = new TaskSubmission.Conversation(
        policy.conversationKey("feishu", in.bot(), chat, group, sender.isEmpty() ? null : sender.get(0)), policy.historyTurns());
    TaskSubmission task = new TaskSubmission(text, null, List.of(new TaskSubmission.Target("feishu", in.bot(), address)),
        TaskSubmission.Priority.NORMAL, "feishu:" + eventId, "feishu:" + in.bot(), conversation, 0,
        memoryScopes("feishu", chat, sender.isEmpty() ? null : sender.get(0), group));
    vertx.eventBus().<JsonObject>request(Addresses.TASK_SUBMIT, task)
        .onSuccess(reply -> message.reply(FEISHU_OK))
        .onFailure(e -> Failure.reply(message, e));
  }

  private static final java.util.regex.Pattern ENCRYPT = java.util.regex.Pattern.compile("<Encrypt><!\\[CDATA\\[(.*?)]]></Encrypt>", java.util.regex.Pattern.DOTALL);

  /** One element of WeCom's flat XML, CDATA or not; parsed by pattern so that no XML parser sees input from outside. */
  static String element(String xml, String name) {
    var m = java.util.regex.Pattern.compile("<" + name + ">(?:<!\\[CDATA\\[(.*?)]]>|([^<]*))</" + name + ">", java.util.regex.Pattern.DOTALL)
        .matcher(xml);
    return m.find() ? (m.group(1) != null ? m.group(1) : m.group(2)) : null;
  }

  /**
   * WeCom app callbacks: the URL check answers the decrypted echo; a message is checked, decrypted
   * (32-byte padding), claimed by its MsgId and published as an event. Replies need the app's
   * secret and the message API, which this build does not have yet.
   */
  private void wecom(Message<InboundWeCom> message) {
    try {
      wecomChecked(message);
    } catch (RuntimeException e) {
      Failure.reply(message, Failure.badRequest("invalid_body", "the request cannot be read: " + e.getMessage()));
    }
  }

  private void wecomChecked(Message<InboundWeCom> message) {
    InboundWeCom in = message.body();
    WeComApp app = settings.wecomApps().get(in.bot());
    if (app == null) {
      Failure.reply(message, Failure.notFound("bot_not_found", "no wecom app named '" + in.bot() + "'"));
      return;
    }
    if (app.offReason() != null) {
      Failure.reply(message, Failure.unavailable("bot_off", "wecom app '" + in.bot() + "' is off: " + app.offReason()));
      return;
    }
    String encrypted;
    if (in.echostr() != null) {
      encrypted = in.echostr();
    } else {
      var m = ENCRYPT.matcher(in.body().toString());
      if (!m.find()) {
        Failure.reply(message, Failure.badRequest("invalid_xml", "the callback body has no Encrypt element"));
        return;
      }
      encrypted = m.group(1);
    }
    String expected = app.signature(String.valueOf(in.timestamp()), String.valueOf(in.nonce()), encrypted);
    String given = in.signature() == null ? "" : in.signature().trim().toLowerCase();
    if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), given.getBytes(StandardCharsets.US_ASCII))) {
      Failure.reply(message, Failure.unauthorized("msg_signature does not match"));
      return;
    }
    WeComApp.Opened opened;
    try {
      opened = app.decrypt(encrypted);
    } catch (IllegalArgumentException e) {
      Failure.reply(message, Failure.badRequest("undecryptable", "the callback cannot be decrypted: " + e.getMessage()));
      return;
    }
    if (!app.corpId().equals(opened.receiveId())) {
      Failure.reply(message, Failure.unauthorized("the message was sealed for another receiver"));
      return;
    }
    if (in.echostr() != null) {
      message.reply(opened.message());
      return;
    }
    String xml = opened.message();
    String msgId = element(xml, "MsgId");
    JsonObject event = new JsonObject()
        .put("source", "wecom")
        .put("bot", in.bot())
        .put("msg_id", msgId)
        .put("msg_type", element(xml, "MsgType"))
        .put("from", element(xml, "FromUserName"))
        .put("agent_id", element(xml, "AgentID"))
        .put("content", element(xml, "Content"))
        .put("received_at", Instant.now().toString());
    Future<Boolean> fresh = msgId == null ? Future.succeededFuture(true) : claims.claim("wecom:" + in.bot() + ":" + msgId, CLAIM_TTL.toMillis());
    fresh.onSuccess(first -> {
      if (first) {
        vertx.eventBus().publish(Addresses.EVENTS_WECOM, event);
      }
      message.reply("success");
    }).onFailure(e -> Failure.reply(message, Failure.unavailable("store_unavailable", "the claim store is unavailable: " + e.getMessage())));
  }
}
