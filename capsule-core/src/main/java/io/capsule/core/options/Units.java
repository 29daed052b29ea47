package io.capsule.core.options;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parsing of the option value syntaxes: sizes ("64MB"), durations ("30s") and compute levels. */
public final class Units {
    public static final long FUEL_LOW = 100_000_000L;
    public static final long FUEL_MEDIUM = 2_000_000_000L;
    public static final long FUEL_HIGH = 50_000_000_000L;

    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([KMGT]I?B|B)?", Pattern.CASE_INSENSITIVE);
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?", Pattern.CASE_INSENSITIVE);

    private Units() {}

    /** "64MB", "2GB", "512KB" (powers of 1024); a bare number is bytes. */
    public static long parseSize(String text) {
        Matcher m = SIZE.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a size such as \"64MB\", \"2GB\" or \"512KB\"");
        }
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT).replace("I", "");
        long factor = switch (unit) {
            case "B" -> 1L;
            case "KB" -> 1L << 10;
            case "MB" -> 1L << 20;
            case "GB" -> 1L << 30;
            case "TB" -> 1L << 40;
            default -> throw new IllegalArgumentException("unknown size unit " + unit);
        };
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(factor));
        if (bytes.signum() <= 0) {
            throw new IllegalArgumentException("a size must be greater than zero");
        }
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("size is too large");
        }
        return bytes.longValue();
    }

    /** "500ms", "30s", "5m", "1h"; a bare number is milliseconds. */
    public static Duration parseDuration(String text) {
        Matcher m = DURATION.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a duration such as \"500ms\", \"30s\", \"5m\" or \"1h\"");
        }
        String unit = m.group(2) == null ? "ms" : m.group(2).toLowerCase(Locale.ROOT);
        long millisPerUnit = switch (unit) {
            case "ms" -> 1L;
            case "s" -> 1_000L;
            case "m" -> 60_000L;
            case "h" -> 3_600_000L;
            default -> throw new IllegalArgumentException("unknown duration unit " + unit);
        };
        BigDecimal millis = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(millisPerUnit));
        if (millis.signum() <= 0) {
            throw new IllegalArgumentException("a duration must be greater than zero");
        }
        if (millis.compareTo(BigDecimal.valueOf(Long.MAX_VALUE / 1_000_000L)) > 0) {
            throw new IllegalArgumentException("duration is too large");
        }
        return Duration.ofNanos(millis.multiply(BigDecimal.valueOf(1_000_000L)).longValue());
    }

    /** "LOW", "MEDIUM", "HIGH" or a positive integer amount of fuel. */
    public static long parseCompute(String text) {
        String t = text.strip();
        switch (t.toUpperCase(Locale.ROOT)) {
            case "LOW":
                return FUEL_LOW;
            case "MEDIUM":
                return FUEL_MEDIUM;
            case "HIGH":
                return FUEL_HIGH;
            default:
                break;
        }
        if (!t.matches("\\d{1,18}")) {
            throw new IllegalArgumentException("expected LOW, MEDIUM, HIGH or a positive integer amount of fuel");
        }
        long fuel = Long.parseLong(t);
        if (fuel <= 0) {
            throw new IllegalArgumentException("fuel must be greater than zero");
        }
        return fuel;
    }

    /** A size for people: "64MB", "1.5GB", "512KB", "100B". */
    public static String formatSize(long bytes) {
        String[] units = {"B", "KB", "MB", "GB", "TB"};
        double v = bytes;
        int i = 0;
        while (v >= 1024 && i < units.length - 1 && v % 1024 == 0) {
            v /= 1024;
            i++;
        }
        return (v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v)) + units[i];
    }

    /** A duration for people: "500ms", "30s", "5m", "1h" where exact, else milliseconds. */
    public static String formatDuration(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1_000 == 0) {
            return ms / 1_000 + "s";
        }
        return ms + "ms";
    }
}
