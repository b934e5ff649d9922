package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.MessageCodec;

/**
 * Hands immutable records across the local bus without serialising them. The wire types never
 * leave the JVM; JSON is only spoken at the edges (HTTP, storage).
 */
public final class LocalCodec<T> implements MessageCodec<T, T> {

  private final String name;

  private LocalCodec(Class<T> type) {
    this.name = "local:" + type.getName();
  }

  /** Registers the codec of every wire type once per Vert.x instance. */
  public static void registerAll(EventBus bus) {
    register(bus, ChatCall.class);
    register(bus, UpstreamReply.class);
    // default codecs are looked up by the exact class, so each kind of call event needs its own
    register(bus, CallEvent.Head.class);
    register(bus, CallEvent.Chunk.class);
    register(bus, CallEvent.End.class);
    register(bus, CallEvent.Failed.class);
    register(bus, CallEvent.Answer.class);
    register(bus, PushRequest.class);
    register(bus, TaskSubmission.class);
    register(bus, TaskSubmission.Target.class);
    register(bus, Health.class);
    register(bus, InboundHook.class);
    register(bus, InboundDingTalk.class);
    register(bus, InboundFeishu.class);
    register(bus, InboundWeCom.class);
    register(bus, InboundAlert.class);
    register(bus, InboundPlugin.class);
    register(bus, InboundPlugin.Answer.class);
    register(bus, dev.switchboard.audit.AuditEvent.class);
    register(bus, RateTake.class);
    // live reload hands each component its new, already validated settings
    register(bus, dev.switchboard.model.ModelSettings.class);
    register(bus, dev.switchboard.channel.ChannelSettings.class);
    register(bus, dev.switchboard.rules.RulesSettings.class);
  }

  private static <T> void register(EventBus bus, Class<T> type) {
    bus.registerDefaultCodec(type, new LocalCodec<>(type));
  }

  @Override
  public void encodeToWire(Buffer buffer, T t) {
    throw new UnsupportedOperationException(name + " is local only");
  }

  @Override
  public T decodeFromWire(int pos, Buffer buffer) {
    throw new UnsupportedOperationException(name + " is local only");
  }

  @Override
  public T transform(T t) {
    return t;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
