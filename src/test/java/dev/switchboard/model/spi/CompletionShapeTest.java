package dev.switchboard.model.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What the gateway reads of a non-streamed answer (in one pass, without its tree), and what it refuses. */
@DisplayName("A chat completion's answer is checked for choices and its usage read, in one pass")
class CompletionShapeTest {

  private final OpenAiCompatible protocol = new OpenAiCompatible();

  private ModelProvider.Completion completion(String json) {
    return protocol.completion(Buffer.buffer(json));
  }

  @Test
  void usageIsReadWhereverItStandsAndTheBodyIsKeptAsItCame() {
    String json = "{\"usage\":{\"total_tokens\":9,\"prompt_tokens\":5,\"completion_tokens\":4,\"details\":{\"x\":[1,2]}},"
        + "\"id\":\"c1\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi {\\\"usage\\\": 1}\"}}]}";
    ModelProvider.Completion c = completion(json);
    assertEquals(new ModelProvider.Usage(5, 4), c.usage());
    assertEquals(json, c.body().toString());
  }

  @Test
  void anAnswerWithoutUsageCountsNothing() {
    assertSame(ModelProvider.Usage.NONE, completion("{\"choices\":[]}").usage());
    assertSame(ModelProvider.Usage.NONE, completion("{\"choices\":[],\"usage\":null}").usage());
  }

  @Test
  void aNullCountIsZero() {
    assertEquals(new ModelProvider.Usage(0, 4),
        completion("{\"choices\":[],\"usage\":{\"prompt_tokens\":null,\"completion_tokens\":4}}").usage());
  }

  @Test
  void aKeyGivenTwiceCountsByItsLastValue() {
    assertEquals(new ModelProvider.Usage(2, 0),
        completion("{\"choices\":[],\"usage\":{\"prompt_tokens\":1},\"usage\":{\"prompt_tokens\":2}}").usage());
    assertThrows(IllegalArgumentException.class, () -> completion("{\"choices\":[],\"choices\":{}}"));
  }

  @Test
  void choicesThatAreMissingOrNotAnArrayAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> completion("{\"id\":\"x\"}"));
    assertThrows(IllegalArgumentException.class, () -> completion("{\"choices\":\"none\"}"));
    assertThrows(IllegalArgumentException.class, () -> completion("{\"choices\":null}"));
  }

  @Test
  void usageOfTheWrongTypeIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> completion("{\"choices\":[],\"usage\":\"5\"}"));
    assertThrows(IllegalArgumentException.class, () -> completion("{\"choices\":[],\"usage\":{\"prompt_tokens\":\"5\"}}"));
  }

  @Test
  void aBodyThatIsNotOneJsonObjectIsRefused() {
    for (String bad : new String[] {"", "[]", "\"choices\"", "{\"choices\":[]", "{\"choices\":[]} {}", "{\"choices\":[1,}]}",
        "{\"choices\":[]} x"}) {
      assertThrows(RuntimeException.class, () -> completion(bad), bad);
    }
  }
}
