package io.capsule.core.project;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.capsule.core.options.Ceilings;
import io.capsule.core.options.TaskDefaults;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A prepared program in one file ({@code capsule build} writes it, {@code capsule exec} runs it): a zip
 * holding {@value #MANIFEST} (format, runtime, prepared format, entry file, the project's defaults and
 * ceilings, the SHA-256 of every file) and the runtime's prepared files under {@code files/}. Opening
 * it checks every file against the manifest and refuses paths that leave the extraction directory, so a
 * damaged or doctored artifact is refused rather than run.
 *
 * @param runtime the runtime that prepared it ("python")
 * @param preparedFormat the runtime's prepared format when it was built; must match the running runtime's
 * @param entry the entry file, relative to the prepared files
 * @param dir where the prepared files are (after {@link #open}: the extraction directory)
 */
public record Artifact(String runtime, String preparedFormat, Path entry, Path dir, String workflowName,
        String workflowVersion, TaskDefaults defaults, Ceilings ceilings) {
    public static final String MANIFEST = "capsule-artifact.json";
    private static final String PREFIX = "files/";
    private static final int FORMAT = 1;
    private static final long MAX_BYTES = 256L << 20;
    private static final int MAX_FILES = 20_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Writes this artifact (its files are read from {@link #dir}) to {@code out}, atomically. */
    public void write(Path out) throws IOException {
        Map<String, String> sums = ProjectCache.checksums(dir);
        ObjectNode m = JSON.createObjectNode();
        m.put("format", FORMAT);
        m.put("runtime", runtime);
        m.put("prepared_format", preparedFormat);
        m.put("entry", entry.toString().replace('\\', '/'));
        m.put("workflow_name", workflowName);
        m.put("workflow_version", workflowVersion);
        ObjectNode d = m.putObject("defaults");
        putIfSet(d, "fuel", defaults.fuel());
        putIfSet(d, "ram_bytes", defaults.ramBytes());
        putIfSet(d, "timeout_ms", defaults.timeout() == null ? null : defaults.timeout().toMillis());
        putIfSet(d, "max_retries", defaults.maxRetries() == null ? null : defaults.maxRetries().longValue());
        ObjectNode c = m.putObject("ceilings");
        c.put("max_fuel", ceilings.maxFuel());
        c.put("max_ram_bytes", ceilings.maxRamBytes());
        putIfSet(c, "max_timeout_ms", ceilings.maxTimeout() == null ? null : ceilings.maxTimeout().toMillis());
        c.put("max_retries", ceilings.maxRetries());
        c.put("max_subtasks", ceilings.maxSubtasks());
        c.put("max_depth", ceilings.maxDepth());
        ObjectNode files = m.putObject("files");
        sums.forEach(files::put);
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempFile(parent, ".artifact-", ".tmp");
        try {
            try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(tmp))) {
                zip.putNextEntry(new ZipEntry(MANIFEST));
                zip.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m));
                zip.closeEntry();
                for (String name : sums.keySet()) {
                    zip.putNextEntry(new ZipEntry(PREFIX + name));
                    Files.copy(dir.resolve(name), zip);
                    zip.closeEntry();
                }
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Reads only the manifest (runtime, entry, defaults, ceilings); {@link #dir} is null. Nothing is checked but its form. */
    public static Artifact inspect(Path file) throws IOException {
        try (ZipInputStream zip = new ZipInputStream(Files.newInputStream(file))) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                if (e.getName().equals(MANIFEST)) {
                    return fromManifest(file, JSON.readTree(zip.readNBytes(1 << 20)), null);
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IOException("artifact not found: " + file);
        } catch (java.util.zip.ZipException e) {
            throw bad(file, "not a readable zip file (" + e.getMessage() + ")");
        }
        throw bad(file, "no " + MANIFEST);
    }

    /** Extracts {@code file} into the empty directory {@code into} and checks it; throws when it is not a sound artifact. */
    public static Artifact open(Path file, Path into) throws IOException {
        JsonNode manifest = null;
        long total = 0;
        int count = 0;
        Path base = into.toAbsolutePath().normalize();
        Path filesDir = base.resolve("files");
        try (ZipInputStream zip = new ZipInputStream(Files.newInputStream(file))) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                String name = e.getName();
                if (name.equals(MANIFEST)) {
                    manifest = JSON.readTree(zip.readNBytes(1 << 20));
                    continue;
                }
                if (e.isDirectory()) {
                    continue;
                }
                if (!name.startsWith(PREFIX) || ++count > MAX_FILES) {
                    throw bad(file, "unexpected entry " + name);
                }
                Path target = filesDir.resolve(name.substring(PREFIX.length())).normalize();
                if (!target.startsWith(filesDir) || target.equals(filesDir)) {
                    throw bad(file, "entry " + name + " points outside the artifact");
                }
                Files.createDirectories(target.getParent());
                try (OutputStream out = Files.newOutputStream(target)) {
                    total += copyAtMost(zip, out, MAX_BYTES - total);
                }
                if (total >= MAX_BYTES) {
                    throw bad(file, "more than " + (MAX_BYTES >> 20) + "MB of files");
                }
            }
        } catch (java.util.zip.ZipException e) {
            throw bad(file, "not a readable zip file (" + e.getMessage() + ")");
        }
        if (manifest == null || !manifest.isObject()) {
            throw bad(file, "no " + MANIFEST);
        }
        Artifact artifact = fromManifest(file, manifest, filesDir);
        Map<String, String> expected = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = manifest.path("files").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            expected.put(f.getKey(), f.getValue().asText());
        }
        Map<String, String> actual = Files.isDirectory(filesDir) ? ProjectCache.checksums(filesDir) : Map.of();
        if (!actual.equals(expected)) {
            throw bad(file, "its files do not match its manifest (damaged or altered)");
        }
        return artifact;
    }

    private static Artifact fromManifest(Path file, JsonNode manifest, Path filesDir) throws IOException {
        if (!manifest.isObject() || manifest.path("format").asInt() != FORMAT) {
            throw bad(file, "artifact format " + manifest.path("format") + " is not supported (expected " + FORMAT + ")");
        }
        String entryName = manifest.path("entry").asText();
        Path entry = Path.of(entryName).normalize();
        if (entryName.isEmpty() || entry.isAbsolute() || entry.startsWith("..")) {
            throw bad(file, "bad entry " + entryName);
        }
        JsonNode d = manifest.path("defaults");
        JsonNode c = manifest.path("ceilings");
        try {
            TaskDefaults defaults = new TaskDefaults(longOrNull(d, "fuel"), longOrNull(d, "ram_bytes"),
                    d.hasNonNull("timeout_ms") ? Duration.ofMillis(d.get("timeout_ms").asLong()) : null,
                    d.hasNonNull("max_retries") ? d.get("max_retries").asInt() : null);
            Ceilings ceilings = new Ceilings(c.path("max_fuel").asLong(), c.path("max_ram_bytes").asLong(),
                    c.hasNonNull("max_timeout_ms") ? Duration.ofMillis(c.get("max_timeout_ms").asLong()) : null,
                    c.path("max_retries").asInt(), c.path("max_subtasks").asInt(), c.path("max_depth").asInt());
            return new Artifact(manifest.path("runtime").asText(), manifest.path("prepared_format").asText(), entry,
                    filesDir, textOrNull(manifest, "workflow_name"), textOrNull(manifest, "workflow_version"),
                    defaults, ceilings);
        } catch (IllegalArgumentException e) {
            throw bad(file, "bad limits: " + e.getMessage());
        }
    }

    private static long copyAtMost(InputStream in, OutputStream out, long max) throws IOException {
        byte[] buf = new byte[1 << 16];
        long n = 0;
        for (int r; (r = in.read(buf)) > 0; ) {
            n += r;
            if (n > max) {
                return n;
            }
            out.write(buf, 0, r);
        }
        return n;
    }

    private static IOException bad(Path file, String why) {
        return new IOException(file + " is not a usable capsule artifact: " + why);
    }

    private static void putIfSet(ObjectNode o, String key, Long v) {
        if (v != null) {
            o.put(key, v);
        }
    }

    private static Long longOrNull(JsonNode o, String key) {
        return o.hasNonNull(key) ? o.get(key).asLong() : null;
    }

    private static String textOrNull(JsonNode o, String key) {
        return o.hasNonNull(key) ? o.get(key).asText() : null;
    }
}
