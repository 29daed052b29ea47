package io.capsule.python;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.TrapException;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.types.FunctionType;
import com.dylibso.chicory.wasm.types.ValType;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.spi.AttemptOutcome;
import io.capsule.core.spi.AttemptSpec;
import io.capsule.core.spi.HostBridge;
import io.capsule.core.spi.Program;
import io.capsule.wasm.CappedMemory;
import io.capsule.wasm.GuestCalls;
import io.capsule.wasm.Sandbox;
import io.capsule.wasm.Snapshot;
import io.capsule.wasm.WasmTemplate;
import io.capsule.wasm.fs.JailFileSystem;
import java.io.IOException;
import io.capsule.wasm.fuel.FuelMeter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A loaded Python program. Each attempt instantiates CPython afresh, imports the harness
 * ({@code guest.py}) through the module's {@code setup} export and calls its {@code run(request)}.
 */
final class PythonProgram implements Program {
    private static final ObjectMapper JSON = new ObjectMapper();
    // Type codes of the Trino guest ABI: setup() takes a ROW of argument types and a return type.
    private static final int TYPE_ROW = 0;
    private static final int TYPE_VARCHAR = 11;

    /**
     * Bounds of the instance that compiles a kept program's entry module, which runs before (and outside)
     * any task's own limits: a source that takes more is compiled by each task instead, within its limits.
     */
    private static final long COMPILE_FUEL = 2_000_000_000L;
    private static final long COMPILE_RAM = 512L << 20;
    private static final String RUN_PHASE = "{\"phase\":\"run\"}";

    private final WasmTemplate template;
    private final Snapshot warm;
    private final GuestTree tree;
    /** The entry file's text, sent when there is no compiled module (null then if the guest must read it itself). */
    private final String source;
    /**
     * The entry module's code object, marshalled (base64) by {@link #compile}, which every task unmarshals
     * instead of compiling; null when each task compiles the source itself.
     */
    private final String compiled;

    PythonProgram(WasmTemplate template, Snapshot warm, GuestTree tree, String compiled) {
        this.template = template;
        this.warm = warm;
        this.tree = tree;
        this.compiled = compiled;
        this.source = compiled == null ? tree.entrySource() : null; // read only when the tasks need it
    }

    /**
     * Compiles the tree's entry module in an instance of its own (which runs none of the program's code)
     * and returns it marshalled (base64), or null when it does not compile: each task then compiles it
     * and reports the error; also null when compiling would take more than {@link #COMPILE_FUEL} or
     * {@link #COMPILE_RAM}, so that a hostile source cannot hold the host outside a task's limits. Worth it
     * for a program that runs many tasks.
     */
    static String compile(WasmTemplate template, Snapshot warm, GuestTree tree) {
        ObjectNode req = JSON.createObjectNode();
        req.put("phase", "compile");
        req.put("file", tree.guestEntry());
        req.put("source", tree.entrySource());
        Sandbox.Builder builder = Sandbox.builder(template);
        if (template.isMetered()) {
            builder.fuel(COMPILE_FUEL);
        }
        try (Sandbox sandbox = builder
                .guestRoot(GuestTree.GUEST_ROOT, new JailFileSystem(tree.dir(), GuestTree.APP).root())
                .hostFunction(returnError(new String[1]))
                .memoryCap(COMPILE_RAM)
                .snapshot(warm)
                .build()) {
            String response = execute(sandbox, req.toString(), true);
            JsonNode answer = response == null ? null : JSON.readTree(response);
            return answer != null && answer.path("ok").asBoolean() ? answer.path("code").asText() : null;
        } catch (ChicoryException e) {
            return null; // out of fuel or memory (or trapped): each task compiles it, within its own limits
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("The Python harness answered with bad JSON: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * Starts CPython, imports the harness (and the modules it preloads) and snapshots the instance: every
     * attempt then starts from this state instead of paying for interpreter start-up and imports.
     * Taken in a tree holding only the harness, before any task input exists.
     */
    static Snapshot warmSnapshot(WasmTemplate template) {
        try (GuestTree harness = GuestTree.harnessOnly();
                Sandbox sandbox = Sandbox.builder(template)
                        .guestRoot(GuestTree.GUEST_ROOT, harness.dir())
                        .hostFunction(returnError(new String[1]))
                        .build()) {
            setup(sandbox);
            return Snapshot.take(sandbox);
        }
    }

    @Override
    public AttemptOutcome runAttempt(AttemptSpec spec, HostBridge host) {
        String label = spec.taskName() == null ? "main" : spec.taskName();
        String[] guestError = new String[1];
        // The task's files: the read-only tree, with its allowed directories mounted in the working directory.
        JailFileSystem files = new JailFileSystem(tree.dir(), GuestTree.APP);
        try {
            files.mounts(host.mounts());
        } catch (InvalidTaskException e) {
            return AttemptOutcome.failure(ErrorType.INVALID_TASK, e.getMessage(), label, null, null);
        }
        CallHandler calls = new CallHandler(host, files);
        Sandbox sandbox;
        try {
            Sandbox.Builder builder = Sandbox.builder(template);
            if (template.isMetered()) {
                builder.fuel(spec.limits().fuel());
            }
            sandbox = builder
                    .guestRoot(GuestTree.GUEST_ROOT, files.root())
                    .stdout(spec.stdout())
                    .stderr(spec.stderr())
                    .memoryCap(spec.limits().ramBytes())
                    .hostChannel(calls::handle)
                    .hostFunction(returnError(guestError))
                    .snapshot(warm)
                    .build();
        } catch (IllegalArgumentException e) {
            return GuestCalls.ramTooSmall(spec.limits().ramBytes(), label, "Python", e);
        }
        calls.memory = sandbox.memory();
        calls.fuel = sandbox.fuelMeter();
        try (sandbox) {
            // Preparing the entry module (compiling it, or unmarshalling the copy kept from an earlier task)
            // is the runtime's work, not the task's: uncharged, so a task costs the same fuel on every run.
            String response = execute(sandbox, request(spec), false);
            if (response != null) {
                JsonNode prepared = JSON.readTree(response);
                if (!prepared.path("ok").asBoolean()) {
                    return outcome(sandbox, prepared, label);
                }
                response = execute(sandbox, RUN_PHASE, true);
            }
            if (response == null) {
                String message = guestError[0] != null ? guestError[0] : "The Python harness returned no result";
                return GuestCalls.failure(sandbox, ErrorType.TASK_ERROR, message, label);
            }
            return outcome(sandbox, JSON.readTree(response), label);
        } catch (ChicoryException e) {
            return GuestCalls.engineFailure(sandbox, e, calls.task != null ? calls.task : label, "Python");
        } catch (JsonProcessingException e) {
            return AttemptOutcome.failure(ErrorType.INTERNAL_ERROR, "The Python harness answered with bad JSON: "
                    + e.getOriginalMessage(), label, sandbox.memory().bytesUsed(), sandbox.fuelConsumed());
        }
    }

    @Override
    public void close() {
        tree.close();
    }

    /** The harness's request: the task, and the entry module's code (marshalled) or source. */
    private String request(AttemptSpec spec) {
        ObjectNode req = JSON.createObjectNode();
        req.put("phase", "prepare");
        req.put("file", tree.guestEntry());
        req.put("cwd", tree.guestCwd());
        if (compiled != null) {
            req.put("code", compiled);
        } else {
            req.put("source", source);
        }
        req.put("attempt", spec.attempt());
        if (spec.taskName() != null) {
            req.put("task", spec.taskName());
        }
        req.set("args", spec.args());
        req.set("kwargs", spec.kwargs());
        return req.toString();
    }

    /** Imports the harness and binds its run(request: str) -> str: setup("run", ROW(VARCHAR), VARCHAR). */
    private static void setup(Sandbox sandbox) {
        byte[] name = "run\0".getBytes(StandardCharsets.US_ASCII);
        int namePtr = allocate(sandbox, name);
        int argTypes = allocate(sandbox, ints(TYPE_ROW, 1, TYPE_VARCHAR));
        int returnType = allocate(sandbox, ints(TYPE_VARCHAR));
        sandbox.export("setup").apply(namePtr, argTypes, returnType);
    }

    /** Calls the harness's run(request) in an instance restored from the warm snapshot. */
    private static String execute(Sandbox sandbox, String request, boolean charged) {
        Memory memory = sandbox.memory();
        byte[] body = request.getBytes(StandardCharsets.UTF_8);
        ByteBuffer args = ByteBuffer.allocate(2 + 4 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        args.put((byte) 1).put((byte) 1).putInt(body.length).put(body); // row present, value present, length, bytes
        int argsPtr = allocate(sandbox, args.array());
        int result = (int) (charged ? sandbox.export("execute") : sandbox.unchargedExport("execute")).apply(argsPtr)[0];
        if (result == 0 || memory.read(result + 4) == 0) {
            return null;
        }
        int length = memory.readInt(result + 5);
        return new String(memory.readBytes(result + 9, length), StandardCharsets.UTF_8);
    }

    private static int allocate(Sandbox sandbox, byte[] bytes) {
        int ptr = (int) sandbox.export("allocate").apply(bytes.length)[0];
        if (ptr == 0) {
            throw new TrapException("out of memory passing the request to the guest");
        }
        sandbox.memory().write(ptr, bytes);
        return ptr;
    }

    private static byte[] ints(int... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putInt(v);
        }
        return b.array();
    }

    private static AttemptOutcome outcome(Sandbox sandbox, JsonNode response, String label) {
        String task = response.path("task").isTextual() ? response.path("task").asText() : label;
        long ram = sandbox.memory().bytesUsed();
        if (response.path("ok").asBoolean()) {
            return AttemptOutcome.success(response.get("result"), task, ram, sandbox.fuelConsumed());
        }
        JsonNode error = response.path("error");
        String kind = error.path("type").asText();
        ErrorType type = switch (kind) {
            case "invalid_task" -> ErrorType.INVALID_TASK;
            case "memory_exhausted" -> ErrorType.MEMORY_EXHAUSTED;
            case "permission_denied" -> ErrorType.PERMISSION_DENIED;
            default -> ErrorType.TASK_ERROR;
        };
        return GuestCalls.failure(sandbox, type, error.path("message").asText(), task);
    }

    /** The Trino build reports errors of its own C glue through this import. */
    private static HostFunction returnError(String[] sink) {
        return new HostFunction("trino", "return_error",
                FunctionType.of(List.of(ValType.I32, ValType.I32, ValType.I32, ValType.I32, ValType.I32), List.of()),
                (instance, args) -> {
                    Memory m = instance.memory();
                    String message = m.readString((int) args[1], (int) args[2]);
                    String traceback = args[3] == 0 ? "" : "\n" + m.readString((int) args[3], (int) args[4]);
                    sink[0] = message + traceback;
                    return null;
                });
    }

    /** Serves the harness's host calls: option reports, sub-task calls and HTTP requests. */
    private static final class CallHandler {
        private final HostBridge host;
        private final JailFileSystem files;
        CappedMemory memory;
        FuelMeter fuel;
        /** The task the guest reported running, once it has. */
        String task;

        CallHandler(HostBridge host, JailFileSystem files) {
            this.host = host;
            this.files = files;
        }

        String handle(String line) {
            return GuestCalls.answer(answer -> {
                JsonNode call = JSON.readTree(line);
                switch (call.path("op").asText()) {
                    case "configure" -> {
                        task = call.path("task").asText();
                        GuestCalls.configure(host, call, memory, fuel, "Python", answer);
                        files.mounts(host.mounts());
                    }
                    case "call" -> {
                        Envelope envelope = host.callTask(call.path("task").asText(), call.get("options"),
                                call.path("args"), call.path("kwargs"));
                        answer.set("envelope", envelope.toJsonNode());
                    }
                    case "http" -> http(call, answer);
                    default -> throw new InvalidTaskException("unknown host call " + call.path("op"));
                }
            }).toString();
        }

        /** A request for the guest's urllib; a failure the guest raises as URLError (PermissionError when denied). */
        private void http(JsonNode call, ObjectNode answer) throws InterruptedException {
            try {
                answer.set("response", host.http(call.path("request")));
                answer.put("ok", true);
            } catch (IOException e) {
                answer.put("ok", false);
                ObjectNode error = answer.putObject("error");
                error.put("type", "network_error");
                error.put("message", e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
            }
        }
    }
}
