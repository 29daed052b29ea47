package io.capsule.js.bundle;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A bundled program: the script that registers its modules, the entry module's id, and where each
 * module's code sits in the script (to turn script positions in error messages back into file:line).
 *
 * @param code the script
 * @param entry the entry module's id (its path in the project)
 * @param segments each module's first line in the script and its number of lines
 */
public record Bundle(String code, String entry, List<Segment> segments) {
    /** QuickJS names the compiled script "function.mjs" in stack traces and syntax errors. */
    private static final Pattern POSITION = Pattern.compile("\\[?function\\.mjs\\]?:(\\d+)(?::(\\d+))?");

    /**
     * @param sourceMap positions in the transpiled file back to its TypeScript source, or null
     * @param commonJs whether the module has no ES module syntax (so it may run as a sloppy-mode script)
     */
    public record Segment(String id, int firstLine, int lines, LineMap sourceMap, boolean commonJs) {}

    /** The module at a "function.mjs:LINE" position of {@code text}, if any. */
    public Segment segmentAt(String text) {
        Matcher m = POSITION.matcher(text);
        if (m.find()) {
            int line = Integer.parseInt(m.group(1));
            for (Segment s : segments) {
                if (line >= s.firstLine && line < s.firstLine + s.lines) {
                    return s;
                }
            }
        }
        return null;
    }

    /**
     * Rewrites "function.mjs:LINE:COL" positions into "file:line:col" of the module (and, for TypeScript,
     * the source line) they fall in. Stack frames of the harness itself are dropped: they are not the
     * task's code.
     */
    public String mapPositions(String text) {
        StringBuilder out = new StringBuilder();
        for (String line : text.split("\n", -1)) {
            Matcher m = POSITION.matcher(line);
            StringBuilder mappedLine = new StringBuilder();
            boolean unmapped = false;
            while (m.find()) {
                String mapped = map(Integer.parseInt(m.group(1)), m.group(2) == null ? -1 : Integer.parseInt(m.group(2)));
                unmapped |= mapped == null;
                m.appendReplacement(mappedLine, Matcher.quoteReplacement(mapped == null ? m.group() : mapped));
            }
            m.appendTail(mappedLine);
            if (unmapped && line.stripLeading().startsWith("at ")) {
                continue;
            }
            out.append(out.length() == 0 ? "" : "\n").append(mappedLine);
        }
        return out.toString();
    }

    private String map(int line, int column) {
        for (Segment s : segments) {
            if (line >= s.firstLine && line < s.firstLine + s.lines) {
                int local = line - s.firstLine + 1;
                int[] original = s.sourceMap == null || column < 0 ? null : s.sourceMap.original(local, column);
                if (original != null) {
                    return s.id + ":" + original[0] + ":" + original[1];
                }
                return s.id + ":" + local + (column < 0 ? "" : ":" + column);
            }
        }
        return null;
    }
}
