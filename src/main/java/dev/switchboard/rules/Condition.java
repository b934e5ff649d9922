package dev.switchboard.rules;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import java.util.Map;

/**
 * A rule's {@code if:}, in Common Expression Language over {@code event} (a map of dynamic
 * values). It is compiled when the file loads, so a mistake is reported then with the rule's
 * name. CEL is not Turing-complete; the limits below bound what one expression may cost: its
 * length, its nesting, and the iterations of its macros ({@code all}, {@code exists}, {@code map}).
 */
final class Condition {

  static final int MAX_CODE_POINTS = 2_000;
  static final int MAX_ITERATIONS = 1_000;

  private static final CelOptions OPTIONS = CelOptions.current()
      .maxExpressionCodePointSize(MAX_CODE_POINTS)
      .maxParseRecursionDepth(50)
      .comprehensionMaxIterations(MAX_ITERATIONS)
      .maxRegexProgramSize(1_000)
      .build();
  private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
      .setOptions(OPTIONS)
      .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
      .addVar("event", MapType.create(SimpleType.STRING, SimpleType.DYN))
      .setResultType(SimpleType.BOOL)
      .build();
  private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder().setOptions(OPTIONS).build();

  private final String source;
  private final CelRuntime.Program program;

  private Condition(String source, CelRuntime.Program program) {
    this.source = source;
    this.program = program;
  }

  /** The compiled expression, or {@link IllegalArgumentException} with CEL's own words. */
  static Condition compile(String source) {
    if (source.codePointCount(0, source.length()) > MAX_CODE_POINTS) {
      throw new IllegalArgumentException("the expression is longer than " + MAX_CODE_POINTS + " characters");
    }
    try {
      CelAbstractSyntaxTree ast = COMPILER.compile(source).getAst();
      return new Condition(source, RUNTIME.createProgram(ast));
    } catch (CelValidationException e) {
      throw new IllegalArgumentException("CEL: " + e.getMessage().replace('\n', ' ').replaceAll(" +", " "));
    } catch (CelEvaluationException e) {
      throw new IllegalArgumentException("CEL: " + e.getMessage());
    }
  }

  String source() {
    return source;
  }

  /** True when the expression holds; {@link IllegalStateException} when it cannot be evaluated on this event. */
  boolean test(Map<String, Object> event) {
    Object result;
    try {
      result = program.eval(Map.of("event", event));
    } catch (CelEvaluationException e) {
      throw new IllegalStateException("if: " + e.getMessage());
    }
    if (!(result instanceof Boolean b)) {
      throw new IllegalStateException("if: the expression gave " + result + ", not true or false");
    }
    return b;
  }
}
