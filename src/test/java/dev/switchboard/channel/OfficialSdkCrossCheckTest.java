package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.dingtalk.api.DingTalkSignatureUtil;
import com.lark.oapi.core.utils.Decryptor;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The platforms' own SDKs (from Maven Central) as independent oracles for our crypto. */
@DisplayName("Our signing and decryption agree with the official SDKs")
class OfficialSdkCrossCheckTest {

  @Test
  @DisplayName("DingTalk 加签: the same Base64 and URL-encoded values as DingTalkSignatureUtil, for many secrets and times")
  void dingTalkSigning() throws Exception {
    Random random = new Random(42);
    for (int i = 0; i < 200; i++) {
      long ts = 1_500_000_000_000L + Math.floorMod(random.nextLong(), 300_000_000_000L);
      String secret = "SEC" + Long.toHexString(random.nextLong()) + " 密钥+/=" + i;
      String sdk = DingTalkSignatureUtil.computeSignature(secret, DingTalkSignatureUtil.getCanonicalStringForIsv(ts, secret));
      assertEquals(sdk, DingTalkSigner.sign(ts, secret));
      String url = DingTalkSigner.signedUrl("https://oapi.dingtalk.com/robot/send?access_token=t", secret, ts);
      assertEquals(DingTalkSignatureUtil.urlEncode(sdk, "UTF-8"), url.substring(url.indexOf("&sign=") + 6));
    }
  }

  @Test
  @DisplayName("Feishu events: the oapi-sdk Decryptor reads the reference ciphertexts exactly as we do")
  void feishuDecryption() throws Exception {
    FeishuApp app = new FeishuApp("a", "id", "s", "", "test key", "http://x", null, null, null);
    Decryptor sdk = new Decryptor("test key");
    for (String encrypted : new String[] {FeishuEventsTest.E1, FeishuEventsTest.E4, FeishuEventsTest.E5}) {
      assertEquals(sdk.decrypt(encrypted), app.decrypt(encrypted));
    }
  }
}
