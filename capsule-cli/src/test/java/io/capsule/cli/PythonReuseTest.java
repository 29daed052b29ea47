package io.capsule.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.Envelope;
import io.capsule.core.TaskRequest;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The engine keeps a source string's program loaded, with its entry module compiled once in an instance
 * of its own: what is reused must depend on the source alone, never on what a task did.
 */
class PythonReuseTest extends EngineTest {

    @Test
    void aRepeatUnmarshalsTheEntryModuleAndStartsFromAFreshInstance() throws Exception {
        String source = """
                import json, sys
                counter = 0

                def main(n):
                    global counter
                    counter += 1
                    seen = getattr(json, "capsule_test_mark", None)
                    json.capsule_test_mark = n
                    # The harness keeps this instance's request: it carries the host's copy of the code on a repeat.
                    harness = next(m for m in list(sys.modules.values()) if hasattr(m, "_prepared"))
                    return {"n": n, "counter": counter, "seen": seen, "cached": "code" in harness._prepared[0]}
                """;
        List<Long> fuel = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Envelope e = engine.run(TaskRequest.source("reuse_fresh.py", source).args(List.of(7)).build());
            assertThat(e.success()).as(e.toJson()).isTrue();
            assertThat(e.result().get("n").asInt()).isEqualTo(7);
            assertThat(e.result().get("counter").asInt()).as("module state is not carried over").isEqualTo(1);
            assertThat(e.result().get("seen").isNull()).as("imported modules are not carried over").isTrue();
            assertThat(e.result().get("cached").asBoolean()).as("run %d uses the kept code", i).isTrue();
            fuel.add(e.execution().fuelConsumed());
        }
        assertThat(fuel).as("every run does the same work").containsOnly(fuel.get(0));
    }

    @Test
    void aProgramCannotReplaceTheCodeLaterRunsOfItUse() throws Exception {
        // The program's top level finds the harness's host channel and offers the host its own compiled module.
        String source = """
                import binascii, marshal, sys

                for module in list(sys.modules.values()):
                    send = getattr(module, "_host_call", None)
                    if send is not None:
                        evil = compile("def main():\\n    return 'poisoned'\\n", "evil.py", "exec")
                        send({"op": "compiled", "code": binascii.b2a_base64(marshal.dumps(evil), newline=False).decode()})
                        break
                else:
                    raise RuntimeError("the harness channel was not found: the test proves nothing")

                def main():
                    return "clean"
                """;
        for (int i = 0; i < 3; i++) {
            Envelope e = engine.run(TaskRequest.source("reuse_poison.py", source).build());
            assertThat(e.success()).as(e.toJson()).isTrue();
            assertThat(e.result().asText()).as("run %d", i).isEqualTo("clean");
        }
    }

    @Test
    void aChangedSourceIsANewProgram() throws Exception {
        for (int i = 0; i < 3; i++) {
            Envelope e = engine.run(TaskRequest.source("reuse_changed.py", "def main():\n    return " + i + "\n").build());
            assertThat(e.success()).as(e.toJson()).isTrue();
            assertThat(e.result().asInt()).isEqualTo(i);
        }
    }

    @Test
    void aSyntaxErrorIsReportedOnEveryRun() throws Exception {
        for (int i = 0; i < 2; i++) {
            Envelope e = engine.run(TaskRequest.source("reuse_bad.py", "def main(:\n    return 1\n").build());
            assertThat(e.success()).isFalse();
            assertThat(e.error().message()).contains("SyntaxError").contains("reuse_bad.py");
        }
    }
}
