package io.capsule.js.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.capsule.core.options.InvalidTaskException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Node-style module resolution on the host, confined to the project directory: relative paths (with the
 * usual extensions and index files, and TypeScript's "./x.js" meaning "./x.ts"), and packages in
 * {@code node_modules} folders between the importing file and the project root ({@code exports},
 * {@code module}, {@code main}). Nothing outside the project is ever read, symlinks included.
 */
final class Resolver {
    /** Modules the harness provides itself. "node:" prefixes are accepted too. */
    static final Set<String> BUILTINS = Set.of("@capsule-run/sdk", "fs", "fs/promises", "path", "process");
    private static final List<String> EXTENSIONS = List.of(".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs", ".json");
    private static final List<String> CONDITIONS_IMPORT = List.of("import", "module", "default", "node", "require");
    private static final List<String> CONDITIONS_REQUIRE = List.of("require", "default", "node", "import", "module");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;
    private final Path realRoot;
    private final Map<Path, String> inline;
    /** When set, records what resolution learnt from disk (not from the inline files). */
    private DiskInputs diskInputs;

    Resolver(Path root, Map<Path, String> inlineFiles) {
        this.root = root;
        this.inline = inlineFiles;
        Path real;
        try {
            real = root.toRealPath();
        } catch (IOException e) {
            real = root;
        }
        this.realRoot = real;
    }

    static boolean isBuiltin(String specifier) {
        return BUILTINS.contains(specifier.startsWith("node:") ? specifier.substring(5) : specifier);
    }

    /**
     * The file {@code specifier} names when imported from {@code from} (both relative to the root), or
     * empty when there is none.
     */
    Optional<Path> resolve(Path from, String specifier, boolean esmImport) {
        if (specifier.isEmpty()) {
            return Optional.empty();
        }
        if (specifier.startsWith("./") || specifier.startsWith("../") || specifier.equals(".") || specifier.equals("..")) {
            Path dir = from.getParent() == null ? Path.of("") : from.getParent();
            Path target = dir.resolve(specifier).normalize();
            if (target.startsWith("..")) {
                throw new InvalidTaskException(from + ": import '" + specifier + "' points outside the project");
            }
            return fileOrDirectory(target);
        }
        if (specifier.startsWith("/")) {
            throw new InvalidTaskException(from + ": absolute import '" + specifier + "' is not allowed; use a relative path");
        }
        return resolvePackage(from, specifier, esmImport);
    }

    private Optional<Path> resolvePackage(Path from, String specifier, boolean esmImport) {
        String[] parts = specifier.split("/");
        int nameParts = specifier.startsWith("@") ? 2 : 1;
        if (parts.length < nameParts) {
            return Optional.empty();
        }
        String name = String.join("/", List.of(parts).subList(0, nameParts));
        String subpath = parts.length == nameParts ? "." : "./" + String.join("/", List.of(parts).subList(nameParts, parts.length));
        for (Path dir = from.getParent(); ; dir = dir.getParent()) {
            Path pkg = (dir == null ? Path.of("node_modules") : dir.resolve("node_modules")).resolve(name).normalize();
            if (isDirectory(pkg)) {
                return resolveInPackage(pkg, subpath, esmImport, specifier);
            }
            if (dir == null) {
                return Optional.empty();
            }
        }
    }

    private Optional<Path> resolveInPackage(Path pkg, String subpath, boolean esmImport, String specifier) {
        JsonNode manifest = readManifest(pkg.resolve("package.json"));
        JsonNode exports = manifest.path("exports");
        if (!exports.isMissingNode() && !exports.isNull()) {
            String target = exportTarget(exports, subpath, esmImport ? CONDITIONS_IMPORT : CONDITIONS_REQUIRE);
            if (target == null) {
                throw new InvalidTaskException("Package subpath '" + subpath + "' is not exported by " + pkg
                        + " (imported as '" + specifier + "')");
            }
            Path file = pkg.resolve(target).normalize();
            return file.startsWith(pkg) && isFile(file) ? Optional.of(file) : Optional.empty();
        }
        if (!subpath.equals(".")) {
            return fileOrDirectory(pkg.resolve(subpath).normalize());
        }
        for (String field : esmImport ? List.of("module", "main") : List.of("main")) {
            if (manifest.path(field).isTextual()) {
                Optional<Path> main = fileOrDirectory(pkg.resolve(manifest.path(field).asText()).normalize());
                if (main.isPresent()) {
                    return main;
                }
            }
        }
        return fileOrDirectory(pkg.resolve("index"));
    }

    /** Resolves the "exports" field: a string, a conditions object, or a map of subpaths (with "*" patterns). */
    private static String exportTarget(JsonNode exports, String subpath, List<String> conditions) {
        boolean subpathMap = exports.isObject() && exports.fieldNames().hasNext() && exports.fieldNames().next().startsWith(".");
        if (!subpathMap) {
            return subpath.equals(".") ? conditional(exports, conditions) : null;
        }
        if (exports.has(subpath)) {
            return conditional(exports.get(subpath), conditions);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = exports.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int star = e.getKey().indexOf('*');
            if (star < 0) {
                continue;
            }
            String prefix = e.getKey().substring(0, star);
            String suffix = e.getKey().substring(star + 1);
            if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length() >= prefix.length() + suffix.length()) {
                String match = subpath.substring(prefix.length(), subpath.length() - suffix.length());
                String target = conditional(e.getValue(), conditions);
                return target == null ? null : target.replace("*", match);
            }
        }
        return null;
    }

    private static String conditional(JsonNode node, List<String> conditions) {
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isArray()) {
            for (JsonNode alternative : node) {
                String t = conditional(alternative, conditions);
                if (t != null) {
                    return t;
                }
            }
            return null;
        }
        if (node.isObject()) {
            for (String c : conditions) {
                if (node.has(c)) {
                    String t = conditional(node.get(c), conditions);
                    if (t != null) {
                        return t;
                    }
                }
            }
        }
        return null;
    }

    private Optional<Path> fileOrDirectory(Path target) {
        if (isFile(target)) {
            return Optional.of(target);
        }
        String name = target.getFileName() == null ? "" : target.getFileName().toString();
        for (String ext : EXTENSIONS) {
            Path withExt = target.resolveSibling(name + ext);
            if (isFile(withExt)) {
                return Optional.of(withExt);
            }
        }
        // TypeScript sources import their siblings by the name they will have once compiled.
        for (String[] alias : new String[][] {{".js", ".ts"}, {".js", ".tsx"}, {".mjs", ".mts"}, {".cjs", ".cts"}}) {
            if (name.endsWith(alias[0])) {
                Path ts = target.resolveSibling(name.substring(0, name.length() - alias[0].length()) + alias[1]);
                if (isFile(ts)) {
                    return Optional.of(ts);
                }
            }
        }
        if (isDirectory(target)) {
            JsonNode manifest = readManifest(target.resolve("package.json"));
            if (manifest.path("main").isTextual()) {
                Path main = target.resolve(manifest.path("main").asText()).normalize();
                if (main.startsWith(target) && !main.equals(target)) {
                    Optional<Path> found = fileOrDirectory(main);
                    if (found.isPresent()) {
                        return found;
                    }
                }
            }
            for (String ext : EXTENSIONS) {
                Path index = target.resolve("index" + ext);
                if (isFile(index)) {
                    return Optional.of(index);
                }
            }
        }
        return Optional.empty();
    }

    private JsonNode readManifest(Path relative) {
        if (!isFile(relative)) {
            return JSON.createObjectNode();
        }
        try {
            JsonNode node = JSON.readTree(read(relative));
            return node == null || !node.isObject() ? JSON.createObjectNode() : node;
        } catch (IOException e) {
            throw new InvalidTaskException(relative + ": invalid package.json: " + e.getMessage());
        }
    }

    /** Reads a file of the project (relative path); never one whose real location is outside it. */
    String read(Path relative) throws IOException {
        String text = inline.get(relative);
        if (text != null) {
            return text;
        }
        Path real = root.resolve(relative).toRealPath();
        if (!real.startsWith(realRoot)) {
            throw new InvalidTaskException(relative + " is a link to " + real + ", outside the project " + root);
        }
        String content = Files.readString(real);
        if (diskInputs != null) {
            diskInputs.read(relative, content);
        }
        return content;
    }

    /** Records into {@code sink} what is read or found missing on disk, so a prepared program can tell when that changes. */
    void recordDiskInputs(DiskInputs sink) {
        this.diskInputs = sink;
    }

    private boolean isFile(Path relative) {
        if (inline.containsKey(relative)) {
            return true;
        }
        boolean found = !relative.startsWith("..") && Files.isRegularFile(root.resolve(relative));
        if (!found && diskInputs != null && !relative.startsWith("..")) {
            diskInputs.notFile(relative);
        }
        return found;
    }

    private boolean isDirectory(Path relative) {
        boolean found = !relative.startsWith("..") && Files.isDirectory(root.resolve(relative));
        if (!found && diskInputs != null && !relative.startsWith("..")) {
            diskInputs.notDirectory(relative);
        }
        return found;
    }
}
