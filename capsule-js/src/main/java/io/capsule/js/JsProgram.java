package io.capsule.js;

import com.dylibso.chicory.runtime.WasmRuntimeException;
import com.dylibso.chicory.wasm.ChicoryException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.options.InvalidTaskException;
import io.capsule.core.policy.FileAccessException;
import io.capsule.core.policy.SandboxFiles;
import io.capsule.core.spi.AttemptOutcome;
import io.capsule.core.spi.AttemptSpec;
import io.capsule.core.spi.HostBridge;
import io.capsule.core.spi.Program;
import io.capsule.js.bundle.Bundle;
import io.capsule.wasm.CappedMemory;
import io.capsule.wasm.GuestCalls;
import io.capsule.wasm.Sandbox;
import io.capsule.wasm.Snapshot;
import io.capsule.wasm.WasmTemplate;
import io.capsule.wasm.fuel.FuelMeter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * A loaded JavaScript program. Each attempt restores QuickJS from the warm snapshot into a new instance,
 * evaluates the program's bytecode (which registers its modules), starts the task, then lets the
 * harness run timer callbacks ({@code tick}) until the task reports its outcome.
 */
final class JsProgram implements Program {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom SEEDS = new SecureRandom();
    /** The longest single wait for a timer; a task waits longer by asking again. */
    private static final long MAX_SLEEP_MS = 60_000;

    private final WasmTemplate template;
    private final Snapshot warm;
    private final Bundle bundle;
    private final byte[] bytecode;

    JsProgram(WasmTemplate template, Snapshot warm, Bundle bundle, byte[] bytecode) {
        this.template = template;
        this.warm = warm;
        this.bundle = bundle;
        this.bytecode = bytecode;
    }

    @Override
    public AttemptOutcome runAttempt(AttemptSpec spec, HostBridge host) {
        String label = spec.taskName() == null ? "main" : spec.taskName();
        Calls calls = new Calls(host, request(spec), spec.stdout(), spec.stderr(), new SandboxFiles(host::mounts));
        Sandbox sandbox;
        try {
            Sandbox.Builder builder = Sandbox.builder(template);
            if (template.isMetered()) {
                builder.fuel(spec.limits().fuel());
            }
            sandbox = builder
                    .stdout(spec.stdout())
                    .stderr(spec.stderr())
                    .memoryCap(spec.limits().ramBytes())
                    .hostFunction(QuickJs.hostCalls(calls::handle))
                    .snapshot(warm)
                    .build();
        } catch (IllegalArgumentException e) {
            return GuestCalls.ramTooSmall(spec.limits().ramBytes(), label, "JavaScript", e);
        }
        calls.memory = sandbox.memory();
        calls.fuel = sandbox.fuelMeter();
        try (sandbox) {
            QuickJs.exec(sandbox, bytecode);
            QuickJs.exec(sandbox, JsRuntime.Holder.START);
            while (calls.outcome == null) {
                QuickJs.exec(sandbox, JsRuntime.Holder.TICK);
            }
            return outcome(sandbox, calls.outcome, label);
        } catch (WasmRuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                return GuestCalls.interrupted(sandbox, label);
            }
            // QuickJS sets no recursion limit of its own here: deep recursion runs the wasm stack out of its
            // memory, which the engine reports as an out-of-bounds access. Contained, and the task's doing.
            return GuestCalls.failure(sandbox, ErrorType.TASK_ERROR, "The JavaScript runtime crashed (most likely the task recursed"
                    + " too deeply): " + e.getMessage(), label);
        } catch (ChicoryException e) {
            return GuestCalls.engineFailure(sandbox, e, calls.task != null ? calls.task : label, "JavaScript");
        }
    }

    @Override
    public void close() {
        // Nothing per program: the bytecode is cached by the runtime, instances are closed per attempt.
    }

    private ObjectNode request(AttemptSpec spec) {
        ObjectNode req = JSON.createObjectNode();
        req.put("file", bundle.entry());
        if (spec.taskName() != null) {
            req.put("task", spec.taskName());
        }
        req.put("attempt", spec.attempt());
        req.set("args", spec.args());
        ArrayNode argv = req.putArray("argv");
        if (spec.taskName() == null) {
            spec.args().forEach(a -> argv.add(a.isTextual() ? a.asText() : a.toString()));
        }
        // 16-bit halves as fixed-width hex: parsing them takes the same path (and fuel) whatever their value.
        ArrayNode seed = req.putArray("seed");
        for (int i = 0; i < 8; i++) {
            seed.add(String.format("%04x", SEEDS.nextInt(1 << 16)));
        }
        return req;
    }

    private AttemptOutcome outcome(Sandbox sandbox, JsonNode response, String label) {
        String task = response.path("task").isTextual() ? response.path("task").asText() : label;
        long ram = sandbox.memory().bytesUsed();
        if (response.path("ok").asBoolean()) {
            // undefined (no return value) has no JSON form: the harness leaves the field out.
            JsonNode result = response.has("result") ? response.get("result") : NullNode.getInstance();
            return AttemptOutcome.success(result, task, ram, sandbox.fuelConsumed());
        }
        JsonNode error = response.path("error");
        ErrorType type = switch (error.path("type").asText()) {
            case "invalid_task" -> ErrorType.INVALID_TASK;
            case "memory_exhausted" -> ErrorType.MEMORY_EXHAUSTED;
            case "permission_denied" -> ErrorType.PERMISSION_DENIED;
            default -> ErrorType.TASK_ERROR;
        };
        return GuestCalls.failure(sandbox, type, bundle.mapPositions(error.path("message").asText()), task);
    }

    /** Serves the harness's host calls for one attempt. Every call is checked; nothing is trusted. */
    private static final class Calls {
        private final HostBridge host;
        private final ObjectNode request;
        CappedMemory memory;
        FuelMeter fuel;
        String task;
        JsonNode outcome;
        private boolean configured;

        private final OutputStream stdout;
        private final OutputStream stderr;

        private final SandboxFiles files;

        Calls(HostBridge host, ObjectNode request, OutputStream stdout, OutputStream stderr, SandboxFiles files) {
            this.files = files;
            this.host = host;
            this.request = request;
            this.stdout = stdout;
            this.stderr = stderr;
        }

        String handle(String op, String payload) {
            if (op.equals("stdout") || op.equals("stderr")) {
                try {
                    (op.equals("stdout") ? stdout : stderr).write(payload.getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    // The reader went away (a closed terminal): the task goes on, as with a closed pipe.
                }
                return "null";
            }
            if (op.equals("request")) {
                return request.toString();
            }
            return GuestCalls.answer(answer -> {
                JsonNode call = JSON.readTree(payload);
                switch (op) {
                    case "configure" -> configure(call, answer);
                    case "call" -> {
                        if (!configured) {
                            throw new InvalidTaskException("a task was called before the running task was configured");
                        }
                        Envelope envelope = host.callTask(call.path("task").asText(), call.get("options"),
                                call.path("args"), JSON.createObjectNode());
                        answer.set("envelope", envelope.toJsonNode());
                    }
                    case "sleep" -> Thread.sleep(Math.max(1, Math.min(MAX_SLEEP_MS, call.path("ms").asLong())));
                    case "fs" -> files(call, answer);
                    case "http" -> {
                        if (!configured) {
                            throw new InvalidTaskException("an HTTP request was made before the task was configured");
                        }
                        try {
                            answer.put("ok", true);
                            answer.set("response", host.http(call));
                        } catch (IOException e) {
                            answer.put("ok", false);
                            answer.putObject("error").put("type", "network").put("message", String.valueOf(e.getMessage()));
                        }
                    }
                    case "done" -> {
                        if (outcome == null && call != null && call.isObject()) {
                            outcome = call;
                        }
                    }
                    default -> throw new InvalidTaskException("unknown host call " + op);
                }
            }).toString();
        }

        /** The guest's fs module: every path goes through the task's mounts (SandboxFiles). */
        private void files(JsonNode call, ObjectNode answer) {
            if (!configured) {
                throw new InvalidTaskException("a file was accessed before the task was configured");
            }
            String path = call.path("path").asText();
            try {
                switch (call.path("op").asText()) {
                    case "read" -> {
                        byte[] data = files.read(path);
                        if (call.path("text").asBoolean()) {
                            answer.put("value", new String(data, StandardCharsets.UTF_8));
                        } else {
                            answer.put("base64", Base64.getEncoder().encodeToString(data));
                        }
                    }
                    case "write", "append" -> files.write(path, call.has("base64")
                            ? Base64.getDecoder().decode(call.path("base64").asText())
                            : call.path("text").asText().getBytes(StandardCharsets.UTF_8), call.path("op").asText().equals("append"));
                    case "list" -> answer.set("value", JSON.valueToTree(files.list(path)));
                    case "stat" -> answer.set("value", JSON.valueToTree(files.stat(path)));
                    case "exists" -> answer.put("value", files.exists(path));
                    case "mkdir" -> files.mkdir(path, call.path("recursive").asBoolean());
                    case "remove" -> files.remove(path);
                    case "rename" -> files.rename(path, call.path("to").asText());
                    default -> throw new InvalidTaskException("unknown file operation " + call.path("op"));
                }
                answer.put("ok", true);
            } catch (IOException | FileAccessException | IllegalArgumentException e) {
                answer.put("ok", false);
                answer.put("code", SandboxFiles.errorCode(e));
                // The JDK's own messages name host paths; the sandbox's refusals speak in guest paths.
                answer.put("message", e instanceof FileAccessException || e instanceof IllegalArgumentException
                        ? String.valueOf(e.getMessage()) : describe(SandboxFiles.errorCode(e)));
            }
        }

        /** Node's wording for an error code, for I/O errors whose own message names host paths. */
        private static String describe(String code) {
            return switch (code) {
                case "ENOENT" -> "no such file or directory";
                case "EEXIST" -> "file already exists";
                case "ENOTEMPTY" -> "directory not empty";
                case "ENOTDIR" -> "not a directory";
                case "EACCES" -> "permission denied";
                default -> "i/o error";
            };
        }

        private void configure(JsonNode call, ObjectNode answer) {
            if (configured) {
                throw new InvalidTaskException("the running task was already configured");
            }
            task = call.path("task").asText();
            GuestCalls.configure(host, call, memory, fuel, "JavaScript", answer);
            configured = true;
        }
    }
}
