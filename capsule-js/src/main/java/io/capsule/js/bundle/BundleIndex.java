package io.capsule.js.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.capsule.core.options.InvalidTaskException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A bundle's entry and module positions (with TypeScript line maps) as JSON, stored next to a prepared
 * program's bytecode: enough to report errors as file:line without the sources or the transpiler. The
 * script itself is not kept; a bundle read back has empty code.
 */
public final class BundleIndex {
    private static final ObjectMapper JSON = new ObjectMapper();

    private BundleIndex() {}

    public static void write(Bundle bundle, Path file) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("entry", bundle.entry());
        ArrayNode segments = root.putArray("segments");
        for (Bundle.Segment s : bundle.segments()) {
            ObjectNode n = segments.addObject();
            n.put("id", s.id());
            n.put("first_line", s.firstLine());
            n.put("lines", s.lines());
            n.put("common_js", s.commonJs());
            if (s.sourceMap() != null) {
                n.set("line_map", JSON.valueToTree(s.sourceMap().lines()));
            }
        }
        Files.writeString(file, root.toString());
    }

    /** The bundle {@link #write} stored; a file that is not one fails as {@link InvalidTaskException}. */
    public static Bundle read(Path file) {
        try {
            JsonNode root = JSON.readTree(file.toFile());
            List<Bundle.Segment> segments = new ArrayList<>();
            for (JsonNode n : root.withArray("segments")) {
                JsonNode map = n.get("line_map");
                segments.add(new Bundle.Segment(n.get("id").asText(), n.get("first_line").asInt(), n.get("lines").asInt(),
                        map == null ? null : LineMap.of(JSON.treeToValue(map, int[][].class)), n.get("common_js").asBoolean()));
            }
            return new Bundle("", root.get("entry").asText(), List.copyOf(segments));
        } catch (IOException | RuntimeException e) {
            throw new InvalidTaskException("The prepared JavaScript program's index " + file + " is unreadable: " + e.getMessage());
        }
    }
}
