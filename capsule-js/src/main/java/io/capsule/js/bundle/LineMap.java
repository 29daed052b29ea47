package io.capsule.js.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Positions in transpiled TypeScript back to the source file, from the "mappings" of swc's source map
 * (base64 VLQ: per generated line, segments of generated column, source, source line, source column).
 */
final class LineMap {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /** Per generated line (0-based): triples of generated column, source line, source column (0-based). */
    private final int[][] lines;

    private LineMap(int[][] lines) {
        this.lines = lines;
    }

    /** The decoded map, to store with a prepared program (see {@link #of}). */
    int[][] lines() {
        return lines;
    }

    /** A map {@link #lines} returned. */
    static LineMap of(int[][] lines) {
        return new LineMap(lines);
    }

    /** Parses a source map; null when it is missing or malformed (positions then stay as generated). */
    static LineMap parse(String sourceMap) {
        if (sourceMap == null || sourceMap.isBlank()) {
            return null;
        }
        try {
            JsonNode mappings = JSON.readTree(sourceMap).path("mappings");
            return mappings.isTextual() ? decode(mappings.asText()) : null;
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    private static LineMap decode(String mappings) {
        List<int[]> out = new ArrayList<>();
        int srcLine = 0;
        int srcCol = 0;
        int[] value = new int[1];
        for (String line : mappings.split(";", -1)) {
            List<Integer> triples = new ArrayList<>();
            int genCol = 0;
            for (String segment : line.split(",")) {
                if (segment.isEmpty()) {
                    continue;
                }
                int[] fields = new int[5];
                int n = 0;
                for (int i = 0; i < segment.length() && n < 5; n++) {
                    i = vlq(segment, i, value);
                    fields[n] = value[0];
                }
                genCol += fields[0];
                if (n >= 4) {
                    srcLine += fields[2];
                    srcCol += fields[3];
                    triples.add(genCol);
                    triples.add(srcLine);
                    triples.add(srcCol);
                }
            }
            out.add(triples.stream().mapToInt(Integer::intValue).toArray());
        }
        return new LineMap(out.toArray(int[][]::new));
    }

    private static int vlq(String s, int i, int[] value) {
        int result = 0;
        int shift = 0;
        int digit;
        do {
            if (i >= s.length()) {
                throw new IllegalArgumentException("truncated VLQ");
            }
            digit = BASE64.indexOf(s.charAt(i++));
            if (digit < 0) {
                throw new IllegalArgumentException("bad VLQ digit");
            }
            result += (digit & 31) << shift;
            shift += 5;
        } while ((digit & 32) != 0);
        value[0] = (result & 1) == 1 ? -(result >>> 1) : result >>> 1;
        return i;
    }

    /** The source position (1-based line and column) of a generated one, or null when unmapped. */
    int[] original(int line, int column) {
        if (line < 1 || line > lines.length) {
            return null;
        }
        int[] triples = lines[line - 1];
        if (triples.length == 0) {
            return null;
        }
        int best = 0;
        for (int i = 0; i < triples.length; i += 3) {
            if (triples[i] <= column - 1) {
                best = i;
            }
        }
        return new int[] {triples[best + 1] + 1, triples[best + 2] + 1};
    }
}
