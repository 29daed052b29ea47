package io.capsule.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.capsule.core.CapsuleEngine;
import io.capsule.core.Envelope;
import io.capsule.core.TaskListener;
import io.capsule.core.TaskRequest;
import io.capsule.core.config.ConfigException;
import io.capsule.core.trace.TraceRecorder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code capsule worker}: a long-lived process serving one JSON request per stdin line and writing one
 * JSON response per stdout line, in completion order. A request is
 * {@code {"id": any, "file": "main.py" | "source": "...", "name": "main.py", "args": [...], "task": "name"}};
 * its response is the envelope with the request's {@code id} added. Requests run concurrently; a bad or
 * failing request gets a failure envelope and never stops the worker. Each request reads the program's
 * sources afresh (prepared forms come from the project cache), so edits are picked up. End of input
 * ends the worker once running requests have answered.
 */
@Command(name = "worker", description = "Serve JSON requests from stdin, one per line; one JSON response per line on stdout.",
        mixinStandardHelpOptions = true)
final class WorkerCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> FIELDS = Set.of("id", "file", "source", "name", "args", "task");

    @ParentCommand
    CapsuleCli parent;

    @Option(names = "--concurrency", paramLabel = "N",
            description = "Requests run at once (default: 8); more wait in line.")
    int concurrency = 8;

    @Option(names = "--verbose", description = "Print task lifecycle lines on stderr.")
    boolean verbose;

    @Option(names = "--project", paramLabel = "DIR",
            description = "The project of \"source\" requests (its capsule.toml, its trace); default: the current directory.")
    Path projectDir = Path.of("");

    private final Map<Path, TraceRecorder> traces = new ConcurrentHashMap<>();
    private PrintStream out;

    @Override
    public Integer call() throws Exception {
        if (concurrency < 1) {
            parent.err.println("capsule: --concurrency must be at least 1");
            return CapsuleCli.EXIT_USAGE;
        }
        out = parent.out;
        ExecutorService pool = Executors.newFixedThreadPool(concurrency, r -> {
            Thread t = new Thread(r, "capsule-worker");
            t.setDaemon(true);
            return t;
        });
        try (CapsuleEngine engine = CapsuleEngine.builder().build();
                BufferedReader in = new BufferedReader(new InputStreamReader(parent.in, StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                String request = line;
                pool.execute(() -> serve(engine, request));
            }
            pool.shutdown();
            pool.awaitTermination(Long.MAX_VALUE, TimeUnit.DAYS);
        } finally {
            pool.shutdownNow();
            traces.values().forEach(TraceRecorder::close);
        }
        return 0;
    }

    private void serve(CapsuleEngine engine, String line) {
        JsonNode id = NullNode.instance;
        try {
            JsonNode req;
            try {
                req = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                respond(id, failure("request is not JSON: " + e.getOriginalMessage()));
                return;
            }
            if (req == null || !req.isObject()) {
                respond(id, failure("a request must be a JSON object"));
                return;
            }
            id = req.path("id").isMissingNode() ? NullNode.instance : req.get("id");
            ObjectNode error = check(req);
            if (error != null) {
                respond(id, error);
                return;
            }
            ProjectContext project;
            TaskRequest.Builder request;
            try {
                if (req.hasNonNull("file")) {
                    Path file = Path.of(req.get("file").asText());
                    project = ProjectContext.ofFile(file);
                    request = TaskRequest.file(file);
                } else {
                    project = ProjectContext.ofDirectory(projectDir);
                    request = TaskRequest.source(req.path("name").asText("main.py"), req.get("source").asText())
                            .projectRoot(project.root());
                }
            } catch (ConfigException e) {
                respond(id, failure(e.getMessage()));
                return;
            }
            request.args(req.has("args") ? req.get("args") : JSON.createArrayNode())
                    .task(req.hasNonNull("task") ? req.get("task").asText() : null)
                    .defaults(project.config().defaults())
                    .ceilings(project.config().ceilings())
                    .access(project.config().access());
            List<TaskListener> listeners = new ArrayList<>();
            TraceRecorder trace = traces.computeIfAbsent(project.root(), r -> project.openTrace(parent.err));
            if (trace != null) {
                listeners.add(trace);
            }
            if (verbose) {
                listeners.add(new VerboseListener(parent.err));
            }
            request.listener(TaskListener.all(listeners.toArray(TaskListener[]::new)));
            Envelope envelope = engine.run(request.build());
            respond(id, envelope.toJsonNode());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            respond(id, failure("the worker is shutting down"));
        } catch (Throwable t) {
            respond(id, failure("the request failed in the host: " + t));
        }
    }

    /** Null when the request is well-formed, else the failure to answer with. */
    private static ObjectNode check(JsonNode req) {
        for (var it = req.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                return failure("unknown request field '" + f + "'; known: " + String.join(", ", FIELDS.stream().sorted().toList()));
            }
        }
        boolean file = req.hasNonNull("file");
        boolean source = req.hasNonNull("source");
        if (file == source) {
            return failure("a request needs exactly one of \"file\" and \"source\"");
        }
        if ((file && !req.get("file").isTextual()) || (source && !req.get("source").isTextual())) {
            return failure("\"file\" and \"source\" must be strings");
        }
        if (req.has("args") && !req.get("args").isArray()) {
            return failure("\"args\" must be a JSON array");
        }
        if (req.hasNonNull("task") && !req.get("task").isTextual()) {
            return failure("\"task\" must be a string");
        }
        if (req.hasNonNull("name") && (!req.get("name").isTextual() || file)) {
            return failure("\"name\" (a string) goes with \"source\" only");
        }
        return null;
    }

    /** The envelope of a request that never reached a task (the core builds every other one). */
    private static ObjectNode failure(String message) {
        ObjectNode env = JSON.createObjectNode();
        env.put("success", false);
        env.putNull("result");
        ObjectNode error = env.putObject("error");
        error.put("type", "invalid_task");
        error.put("message", message);
        ObjectNode x = env.putObject("execution");
        x.putNull("task_name");
        x.put("duration_ms", 0);
        x.put("retries", 0);
        x.putNull("fuel_consumed");
        return env;
    }

    private void respond(JsonNode id, ObjectNode envelope) {
        ObjectNode response = JSON.createObjectNode();
        response.set("id", id);
        response.setAll(envelope);
        String text = response.toString();
        synchronized (this) {
            out.println(text);
            out.flush();
        }
    }
}
