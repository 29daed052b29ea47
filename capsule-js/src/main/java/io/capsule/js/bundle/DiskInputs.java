package io.capsule.js.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What bundling learnt from disk rather than from the sources it was given: files read (by content hash)
 * and paths probed and found missing (so a package file or package installed later, which resolution
 * would now pick, is noticed too). A prepared program stays valid while all of it still holds.
 */
public final class DiskInputs {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, String> files = new TreeMap<>();
    private final Set<String> notFiles = new TreeSet<>();
    private final Set<String> notDirectories = new TreeSet<>();

    void read(Path relative, String content) {
        files.put(id(relative), sha256(content));
    }

    void notFile(Path relative) {
        notFiles.add(id(relative));
    }

    void notDirectory(Path relative) {
        notDirectories.add(id(relative));
    }

    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode read = root.putObject("files");
        files.forEach(read::put);
        notFiles.forEach(root.putArray("not_files")::add);
        notDirectories.forEach(root.putArray("not_directories")::add);
        return root.toString();
    }

    /** Whether what {@link #toJson} recorded still holds under {@code root}; false for anything unreadable. */
    public static boolean stillHolds(Path root, String json) {
        try {
            JsonNode node = JSON.readTree(json);
            for (var it = node.path("files").fields(); it.hasNext(); ) {
                var f = it.next();
                Path file = inside(root, f.getKey());
                if (file == null || !Files.isRegularFile(file) || !sha256(Files.readString(file)).equals(f.getValue().asText())) {
                    return false;
                }
            }
            for (JsonNode p : node.path("not_files")) {
                Path file = inside(root, p.asText());
                if (file == null || Files.isRegularFile(file)) {
                    return false;
                }
            }
            for (JsonNode p : node.path("not_directories")) {
                Path dir = inside(root, p.asText());
                if (dir == null || Files.isDirectory(dir)) {
                    return false;
                }
            }
            return node.has("files");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static Path inside(Path root, String relative) {
        Path p = root.resolve(relative).normalize();
        return p.startsWith(root) ? p : null;
    }

    private static String id(Path relative) {
        return relative.toString().replace('\\', '/');
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
