package io.capsule.wasm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class LeanModuleTest {
    /** A module exporting {@code f() -> 42} with one page of memory, a data segment and a custom section. */
    private static byte[] module() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0});
        section(b, 1, 1, 0x60, 0, 1, 0x7f);                         // type: () -> i32
        section(b, 3, 1, 0);                                         // function 0 has type 0
        section(b, 5, 1, 0, 1);                                      // memory: min 1 page
        section(b, 7, 1, 1, 'f', 0, 0);                              // export "f" = function 0
        section(b, 10, 1, 4, 0, 0x41, 42, 0x0b);                     // code: i32.const 42
        section(b, 11, 1, 0, 0x41, 0, 0x0b, 2, 'h', 'i');            // data: "hi" at 0
        section(b, 0, 4, 'n', 'o', 't', 'e', 1, 2, 3);               // custom section "note"
        return b.toByteArray();
    }

    private static void section(ByteArrayOutputStream out, int id, int... content) {
        out.write(id);
        out.write(content.length);
        for (int c : content) {
            out.write(c);
        }
    }

    @Test
    void dropsDataAndCustomSectionsAndKeepsTheCode() {
        byte[] whole = module();
        byte[] lean = LeanModule.strip(whole);
        assertThat(lean.length).isEqualTo(whole.length - (2 + 8) - (2 + 8));

        WasmModule parsed = Parser.builder().withValidation(false).build()
                .parse(() -> new java.io.ByteArrayInputStream(lean));
        assertThat(parsed.dataSection().dataSegments()).isEmpty();
        assertThat(parsed.customSections()).isEmpty();
        Instance instance = Instance.builder(parsed).build();
        assertThat(instance.export("f").apply()[0]).isEqualTo(42L);
        assertThat(instance.memory().readBytes(0, 2)).containsExactly(0, 0); // the data came from the snapshot
    }

    @Test
    void refusesWhatIsNotAWasmBinary() {
        assertThatThrownBy(() -> LeanModule.strip("hello world".getBytes())).hasMessageContaining("not a wasm");
        byte[] truncated = Arrays.copyOf(module(), module().length - 3);
        assertThatThrownBy(() -> LeanModule.strip(truncated)).hasMessageContaining("runs past the end");
    }
}
