package io.capsule.wasm.fuel;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes small WebAssembly modules for the fuel tests: i32 functions of one or two parameters, one page of
 * memory, the last function exported as {@code run}. Bodies are opcode bytes; {@link #c} encodes an
 * {@code i32.const}.
 */
final class TinyWasm {
    // The opcodes the test programs use.
    static final int BLOCK = 0x02, LOOP = 0x03, IF = 0x04, ELSE = 0x05, END = 0x0b, BR = 0x0c, BR_IF = 0x0d,
            BR_TABLE = 0x0e, CALL = 0x10, VOID = 0x40, I32 = 0x7f, LOCAL_GET = 0x20, LOCAL_SET = 0x21, I32_LOAD = 0x28,
            I32_LOAD8_U = 0x2d, I32_STORE = 0x36, I32_STORE8 = 0x3a, I32_EQZ = 0x45, I32_GT_S = 0x4a,
            I32_LT_S = 0x48, I32_LE_U = 0x4d, I32_GE_S = 0x4e, I32_GE_U = 0x4f, I32_ADD = 0x6a, I32_SUB = 0x6b,
            I32_MUL = 0x6c, I32_REM_U = 0x70, I32_AND = 0x71, I32_XOR = 0x73, I32_SHR_U = 0x76;

    private record Function(int params, int locals, byte[] body) {}

    private final List<Function> functions = new ArrayList<>();

    /** Adds a function {@code (i32 x params) -> i32} with {@code locals} extra i32 locals; its index is returned. */
    int function(int params, int locals, Object... code) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Object part : code) {
            if (part instanceof Integer i) {
                b.write(i);
            } else {
                b.writeBytes((byte[]) part);
            }
        }
        b.write(END);
        functions.add(new Function(params, locals, b.toByteArray()));
        return functions.size() - 1;
    }

    /** {@code i32.const v}. */
    static byte[] c(int v) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x41);
        b.writeBytes(sleb(v));
        return b.toByteArray();
    }

    byte[] toBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0});
        // types: 0 = (i32) -> i32, 1 = (i32 i32) -> i32
        section(out, 1, new byte[] {2, 0x60, 1, I32, 1, I32, 0x60, 2, I32, I32, 1, I32});
        ByteArrayOutputStream funcs = new ByteArrayOutputStream();
        funcs.writeBytes(uleb(functions.size()));
        for (Function f : functions) {
            funcs.write(f.params() - 1);
        }
        section(out, 3, funcs.toByteArray());
        section(out, 5, new byte[] {1, 0, 1});
        ByteArrayOutputStream exports = new ByteArrayOutputStream();
        exports.write(1);
        byte[] name = "run".getBytes(StandardCharsets.US_ASCII);
        exports.write(name.length);
        exports.writeBytes(name);
        exports.write(0);
        exports.writeBytes(uleb(functions.size() - 1));
        section(out, 7, exports.toByteArray());
        ByteArrayOutputStream code = new ByteArrayOutputStream();
        code.writeBytes(uleb(functions.size()));
        for (Function f : functions) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if (f.locals() == 0) {
                body.write(0);
            } else {
                body.writeBytes(new byte[] {1, (byte) f.locals(), I32});
            }
            body.writeBytes(f.body());
            code.writeBytes(uleb(body.size()));
            code.writeBytes(body.toByteArray());
        }
        section(out, 10, code.toByteArray());
        return out.toByteArray();
    }

    private static void section(ByteArrayOutputStream out, int id, byte[] content) {
        out.write(id);
        out.writeBytes(uleb(content.length));
        out.writeBytes(content);
    }

    private static byte[] uleb(int v) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        do {
            int x = v & 0x7f;
            v >>>= 7;
            b.write(v != 0 ? x | 0x80 : x);
        } while (v != 0);
        return b.toByteArray();
    }

    private static byte[] sleb(int v) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (true) {
            int x = v & 0x7f;
            v >>= 7;
            if ((v == 0 && (x & 0x40) == 0) || (v == -1 && (x & 0x40) != 0)) {
                b.write(x);
                return b.toByteArray();
            }
            b.write(x | 0x80);
        }
    }
}
