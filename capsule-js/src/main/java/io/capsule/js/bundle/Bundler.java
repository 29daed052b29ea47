package io.capsule.js.bundle;

import com.caoccao.javet.swc4j.enums.Swc4jMediaType;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.capsule.core.options.InvalidTaskException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Collects a program's modules (the entry file, what it imports, and so on) into one script for the
 * sandbox: QuickJS there has no module loader and cannot read the project. Transformed modules are
 * cached in memory by path and content, so a warm run only reads and hashes its files.
 */
public final class Bundler {
    private static final int MAX_MODULES = 10_000;
    private static final long MAX_SOURCE_CHARS = 64L << 20;
    private static final String PARAMS = "exports, require, module, __filename, __dirname, __capsule_import, __capsule_meta, __capsule_rt";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Transformed modules by path and content hash, up to 256M characters of code. */
    private static final BoundedCache<String, ModuleTransform.Result> CACHE =
            new BoundedCache<>(256L << 20, r -> r.body().length() + r.prelude().length() + 256L);

    private static final java.util.concurrent.atomic.AtomicLong BUNDLES = new java.util.concurrent.atomic.AtomicLong();

    private Bundler() {}

    /** Programs bundled since this JVM started: tests use it to show a prepared program is run without bundling. */
    public static long bundles() {
        return BUNDLES.get();
    }

    /**
     * Bundles the program whose entry is {@code entry} (relative to {@code root}). Fails with
     * {@link InvalidTaskException} on a syntax error (with file:line:column), a missing module (naming it
     * and the importing file) or an unreadable file.
     */
    public static Bundle bundle(Path root, Path entry, Map<Path, String> inlineFiles) {
        return bundle(root, entry, inlineFiles, Set.of());
    }

    /**
     * As {@link #bundle(Path, Path, Map)}, with the CommonJS modules in {@code sloppy} compiled in the sandbox
     * by {@code new Function} (sloppy mode: octal literals, {@code with}) instead of as part of the strict
     * module bundle. The runtime retries with a module listed here when QuickJS rejects it as strict code.
     */
    public static Bundle bundle(Path root, Path entry, Map<Path, String> inlineFiles, Set<String> sloppy) {
        return bundle(root, entry, inlineFiles, sloppy, null);
    }

    /**
     * As {@link #bundle(Path, Path, Map, Set)}, also recording into {@code diskInputs} (when not null) every
     * file read from disk rather than from {@code inlineFiles} (modules and package.json files in
     * node_modules) and every path probed and not found: what a prepared program depends on beyond its sources.
     */
    public static Bundle bundle(Path root, Path entry, Map<Path, String> inlineFiles, Set<String> sloppy,
            DiskInputs diskInputs) {
        BUNDLES.incrementAndGet();
        Resolver resolver = new Resolver(root, inlineFiles);
        resolver.recordDiskInputs(diskInputs);
        Map<Path, Map<String, String>> deps = new LinkedHashMap<>();
        Map<Path, ModuleTransform.Result> modules = new LinkedHashMap<>();
        Deque<Path> todo = new ArrayDeque<>();
        todo.add(entry.normalize());
        long chars = 0;
        while (!todo.isEmpty()) {
            Path file = todo.poll();
            if (modules.containsKey(file)) {
                continue;
            }
            if (modules.size() >= MAX_MODULES) {
                throw new InvalidTaskException("The program imports more than " + MAX_MODULES + " modules");
            }
            String source;
            try {
                source = resolver.read(file);
            } catch (IOException e) {
                throw new InvalidTaskException("Cannot read " + file + ": " + e.getMessage());
            }
            chars += source.length();
            if (chars > MAX_SOURCE_CHARS) {
                throw new InvalidTaskException("The program's modules exceed " + (MAX_SOURCE_CHARS >> 20) + "M characters");
            }
            ModuleTransform.Result module = transform(id(file), source);
            modules.put(file, module);
            Map<String, String> resolved = new LinkedHashMap<>();
            for (String specifier : module.requests()) {
                if (Resolver.isBuiltin(specifier)) {
                    continue;
                }
                boolean esmImport = module.importRequests().contains(specifier);
                Optional<Path> target = resolver.resolve(file, specifier, esmImport);
                if (target.isPresent()) {
                    resolved.put(specifier, id(target.get()));
                    todo.add(target.get());
                } else if (esmImport) {
                    throw new InvalidTaskException(id(file) + ": cannot find module '" + specifier + "'"
                            + (specifier.startsWith(".") ? "" : " (not a file of the project, nor a package in node_modules,"
                            + " nor a module the sandbox provides: " + String.join(", ", Resolver.BUILTINS) + ")"));
                }
                // An unresolved require() fails only if it runs: packages often try optional dependencies.
            }
            deps.put(file, resolved);
        }
        return assemble(entry.normalize(), modules, deps, sloppy);
    }

    /** Bundles a built-in module (the SDK) registered under {@code name}. */
    public static String builtin(String name, String source) {
        ModuleTransform.Result module = ModuleTransform.transform(name, source, null, false);
        StringBuilder out = new StringBuilder();
        define(out, name, Map.of(), module, false, false);
        out.append("__capsule.builtin(").append(ModuleTransform.quote(name)).append(", ")
                .append(ModuleTransform.quote(name)).append(");\n");
        return out.toString();
    }

    private static Bundle assemble(Path entry, Map<Path, ModuleTransform.Result> modules, Map<Path, Map<String, String>> deps,
            Set<String> sloppy) {
        StringBuilder out = new StringBuilder();
        List<Bundle.Segment> segments = new ArrayList<>();
        int line = 1;
        for (Map.Entry<Path, ModuleTransform.Result> m : modules.entrySet()) {
            String body = m.getValue().body();
            boolean asScript = m.getValue().commonJs() && sloppy.contains(id(m.getKey()));
            int bodyLines = asScript ? 1 : (int) body.chars().filter(c -> c == '\n').count() + 1;
            segments.add(new Bundle.Segment(id(m.getKey()), line + 1, bodyLines, m.getValue().lines(), m.getValue().commonJs()));
            define(out, id(m.getKey()), deps.get(m.getKey()), m.getValue(), m.getKey().equals(entry), asScript);
            line += bodyLines + 2;
        }
        return new Bundle(out.toString(), id(entry), segments);
    }

    /** Appends one module: header and prelude on one line, the body from the next, the close on its own. */
    private static void define(StringBuilder out, String id, Map<String, String> deps, ModuleTransform.Result module,
            boolean entry, boolean asScript) {
        out.append("__capsule.define(").append(ModuleTransform.quote(id)).append(", {");
        boolean first = true;
        for (Map.Entry<String, String> d : deps.entrySet()) {
            out.append(first ? "" : ", ").append(ModuleTransform.quote(d.getKey())).append(": ").append(ModuleTransform.quote(d.getValue()));
            first = false;
        }
        if (asScript) {
            out.append("}, __capsule.sloppy(").append(ModuleTransform.quote(module.body())).append("));\n");
            return;
        }
        // The entry may use top-level await: its factory is async and the harness awaits it.
        out.append("}, ").append(entry ? "async " : "").append("function (").append(PARAMS).append(") { ")
                .append(module.prelude()).append('\n')
                .append(module.body()).append("\n});\n");
    }

    private static ModuleTransform.Result transform(String id, String source) {
        String key = id + '\0' + sha256(source);
        ModuleTransform.Result cached = CACHE.get(key);
        if (cached != null) {
            return cached;
        }
        ModuleTransform.Result result;
        String name = id.toLowerCase(java.util.Locale.ROOT);
        if (name.endsWith(".json")) {
            try {
                JSON.readTree(source);
            } catch (JsonProcessingException e) {
                throw new InvalidTaskException(id + ":" + e.getLocation().getLineNr() + ": invalid JSON: " + e.getOriginalMessage());
            }
            result = new ModuleTransform.Result("", "module.exports = " + source.strip() + ";", Set.of(), Set.of(), null, false);
        } else if (name.endsWith(".ts") || name.endsWith(".tsx") || name.endsWith(".mts") || name.endsWith(".cts")) {
            Swc4jMediaType type = name.endsWith(".tsx") ? Swc4jMediaType.Tsx : name.endsWith(".mts") ? Swc4jMediaType.Mts
                    : name.endsWith(".cts") ? Swc4jMediaType.Cts : Swc4jMediaType.TypeScript;
            result = ModuleTransform.transform(id, source, type, false);
        } else if (name.endsWith(".js") || name.endsWith(".mjs") || name.endsWith(".cjs") || name.endsWith(".jsx")) {
            result = ModuleTransform.transform(id, source, null, !name.endsWith(".mjs"));
        } else {
            throw new InvalidTaskException(id + ": not a module the JavaScript runtime can load (.ts, .js, .mjs, .cjs, .json)");
        }
        CACHE.put(key, result);
        return result;
    }

    private static String sha256(String text) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String id(Path relative) {
        return relative.toString().replace('\\', '/');
    }
}
