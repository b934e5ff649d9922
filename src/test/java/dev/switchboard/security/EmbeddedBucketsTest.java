package dev.switchboard.security;

import io.vertx.core.Vertx;
import org.junit.jupiter.api.DisplayName;

@DisplayName("Rate-limit buckets, embedded profile: in memory")
class EmbeddedBucketsTest extends BucketsBehaviour {

  @Override
  Buckets buckets(Vertx vertx) {
    return new EmbeddedBuckets();
  }
}
