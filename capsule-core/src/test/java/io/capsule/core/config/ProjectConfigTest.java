package io.capsule.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.capsule.core.options.Ceilings;
import io.capsule.core.options.FileGrant;
import io.capsule.core.policy.AccessPolicy;
import io.capsule.core.options.Limits;
import io.capsule.core.options.TaskOptions;
import io.capsule.core.options.TaskDefaults;
import io.capsule.core.options.Units;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ProjectConfigTest {
    private static final Path FILE = Path.of("/proj/capsule.toml");

    @TempDir
    Path dir;

    @Test
    void readsTheSpecExample() {
        ProjectConfig c = ProjectConfig.parse(FILE, """
                [workflow]
                name = "My Workflow"
                version = "1.0.0"
                entrypoint = "src/main.py"

                [tasks]
                default_compute = "MEDIUM"
                default_ram = "256MB"
                default_timeout = "30s"
                default_max_retries = 2
                """);
        assertThat(c.name()).isEqualTo("My Workflow");
        assertThat(c.version()).isEqualTo("1.0.0");
        assertThat(c.entrypoint()).isEqualTo(Path.of("/proj/src/main.py"));
        assertThat(c.defaults()).isEqualTo(new TaskDefaults(Units.FUEL_MEDIUM, 256L << 20, Duration.ofSeconds(30), 2));
        assertThat(c.ceilings()).isEqualTo(Ceilings.DEFAULT);
    }

    @Test
    void readsCeilingsAndNumbers() {
        ProjectConfig c = ProjectConfig.parse(FILE, """
                [tasks]
                default_compute = 5000
                default_ram = 1048576
                default_timeout = 1500
                max_compute = "LOW"
                max_ram = "512MB"
                max_timeout = "1m"
                max_retries = 3
                max_subtasks = 20
                max_depth = 2
                """);
        assertThat(c.defaults()).isEqualTo(new TaskDefaults(5000L, 1L << 20, Duration.ofMillis(1500), null));
        assertThat(c.ceilings()).isEqualTo(new Ceilings(Units.FUEL_LOW, 512L << 20, Duration.ofMinutes(1), 3, 20, 2));
        assertThat(c.entrypoint()).isNull();
    }

    @Test
    void readsTheSandboxCeilings() {
        ProjectConfig c = ProjectConfig.parse(FILE, """
                [tasks]
                max_allowed_files = ["./data", {path = "./ref", mode = "ro"}]
                max_allowed_hosts = ["api.example.com", "*.example.org"]
                max_env_variables = ["API_KEY"]
                max_http_requests = 7
                max_http_response = "1MB"
                http_timeout = "2s"
                max_http_redirects = 1
                """);
        AccessPolicy a = c.access();
        assertThat(a.maxFiles()).containsExactly(new FileGrant("./data", true), new FileGrant("./ref", false));
        assertThat(a.maxHosts()).containsExactly("api.example.com", "*.example.org");
        assertThat(a.maxEnv()).containsExactly("API_KEY");
        assertThat(a.http()).isEqualTo(new AccessPolicy.HttpLimits(1L << 20, 7, Duration.ofSeconds(2), 1));
        assertThat(a.mounts()).isEmpty();
        assertThat(ProjectConfig.parse(FILE, "").access()).isEqualTo(AccessPolicy.DEFAULT);
    }

    @Test
    void emptyFileAndMissingFileMeanBuiltIns() throws Exception {
        assertThat(ProjectConfig.parse(FILE, "").defaults()).isEqualTo(TaskDefaults.BUILT_IN);
        assertThat(ProjectConfig.load(dir)).isSameAs(ProjectConfig.NONE);
        Files.writeString(dir.resolve("capsule.toml"), "[tasks]\ndefault_max_retries = 4\n");
        assertThat(ProjectConfig.load(dir).defaults().maxRetries()).isEqualTo(4);
        assertThat(ProjectConfig.load(dir).file()).isEqualTo(dir.resolve("capsule.toml"));
    }

    /** Task option > capsule.toml default > built-in default, then the ceiling. */
    @Test
    void precedence() throws Exception {
        ProjectConfig c = ProjectConfig.parse(FILE, """
                [tasks]
                default_compute = "LOW"
                default_ram = "256MB"
                default_timeout = "30s"
                default_max_retries = 2
                max_ram = "512MB"
                """);
        ObjectMapper json = new ObjectMapper();
        TaskOptions own = TaskOptions.fromJson(json.readTree(
                "{\"compute\":\"HIGH\",\"ram\":\"64MB\",\"timeout\":\"5s\",\"max_retries\":0}"), "t");
        Limits taskWins = Limits.resolve("t", own, c.defaults(), c.ceilings());
        assertThat(taskWins.fuel()).isEqualTo(Units.FUEL_HIGH);
        assertThat(taskWins.ramBytes()).isEqualTo(64L << 20);
        assertThat(taskWins.timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(taskWins.maxRetries()).isZero();

        Limits tomlWins = Limits.resolve("t", TaskOptions.NONE, c.defaults(), c.ceilings());
        assertThat(tomlWins.fuel()).isEqualTo(Units.FUEL_LOW);
        assertThat(tomlWins.ramBytes()).isEqualTo(256L << 20);
        assertThat(tomlWins.timeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(tomlWins.maxRetries()).isEqualTo(2);

        Limits builtIn = Limits.resolve("t", TaskOptions.NONE, ProjectConfig.NONE.defaults(), ProjectConfig.NONE.ceilings());
        assertThat(builtIn.fuel()).isEqualTo(Units.FUEL_MEDIUM);
        assertThat(builtIn.ramBytes()).isEqualTo(Ceilings.DEFAULT.maxRamBytes());
        assertThat(builtIn.timeout()).isNull();
        assertThat(builtIn.maxRetries()).isZero();

        TaskOptions greedy = TaskOptions.fromJson(json.readTree("{\"ram\":\"2GB\"}"), "t");
        assertThat(Limits.resolve("t", greedy, c.defaults(), c.ceilings()).ramBytes()).isEqualTo(512L << 20);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            bad syntax           | '[tasks]\\ndefault_ram = \\n'                     | 2 |                           | not valid TOML
            unclosed table       | '\\n[tasks\\n'                                     | 2 |                           | not valid TOML
            unknown table        | '[workflow]\\nname = "x"\\n[task]\\nx = 1\\n'      | 3 | task                      | unknown table; capsule.toml has the tables [workflow] and [tasks]
            unknown top key      | 'name = "x"\\n'                                    | 1 | name                      | unknown key
            workflow not table   | 'workflow = 3\\n'                                  | 1 | workflow                  | must be a table
            unknown workflow key | '[workflow]\\nentry = "a.py"\\n'                   | 2 | workflow.entry            | unknown key; [workflow] takes entrypoint, name, version
            unknown tasks key    | '[tasks]\\n\\ndefault_rma = "1GB"\\n'              | 3 | tasks.default_rma         | unknown key; [tasks] takes default_compute
            name not string      | '[workflow]\\nname = 3\\n'                         | 2 | workflow.name             | invalid value 3: expected a string
            absolute entrypoint  | '[workflow]\\nentrypoint = "/etc/x.py"\\n'         | 2 | workflow.entrypoint       | must be a file path relative to the project directory
            escaping entrypoint  | '[workflow]\\nentrypoint = "../x.py"\\n'           | 2 | workflow.entrypoint       | must be a file path relative to the project directory
            empty entrypoint     | '[workflow]\\nentrypoint = ""\\n'                  | 2 | workflow.entrypoint       | must be a file path relative to the project directory
            bad compute          | '[tasks]\\ndefault_compute = "TURBO"\\n'           | 2 | tasks.default_compute     | invalid value "TURBO": expected LOW, MEDIUM, HIGH or a positive integer amount of fuel
            zero compute         | '[tasks]\\ndefault_compute = 0\\n'                 | 2 | tasks.default_compute     | invalid value 0: fuel must be greater than zero
            compute as float     | '[tasks]\\ndefault_compute = 1.5\\n'               | 2 | tasks.default_compute     | invalid value 1.5: expected LOW, MEDIUM, HIGH
            bad ram              | '[tasks]\\ndefault_ram = "lots"\\n'                | 2 | tasks.default_ram         | invalid value "lots": expected a size such as
            negative ram         | '[tasks]\\ndefault_ram = -5\\n'                    | 2 | tasks.default_ram         | invalid value -5: a size must be greater than zero
            ram as bool          | '[tasks]\\ndefault_ram = true\\n'                  | 2 | tasks.default_ram         | invalid value true: expected a size
            bad timeout          | '[tasks]\\ndefault_timeout = "soon"\\n'            | 2 | tasks.default_timeout     | invalid value "soon": expected a duration such as
            negative timeout     | '[tasks]\\ndefault_timeout = -1\\n'                | 2 | tasks.default_timeout     | invalid value -1: a duration must be greater than zero
            zero timeout         | '[tasks]\\ndefault_timeout = "0s"\\n'              | 2 | tasks.default_timeout     | invalid value "0s": a duration must be greater than zero
            negative retries     | '[tasks]\\ndefault_max_retries = -1\\n'            | 2 | tasks.default_max_retries | invalid value -1: expected a whole number from 0 to 1000
            retries as string    | '[tasks]\\ndefault_max_retries = "2"\\n'           | 2 | tasks.default_max_retries | invalid value "2": expected a whole number
            bad max_ram          | '[tasks]\\nmax_ram = "big"\\n'                     | 2 | tasks.max_ram             | invalid value "big"
            bad max_depth        | '[tasks]\\nmax_depth = 5000\\n'                    | 2 | tasks.max_depth           | invalid value 5000: expected a whole number from 0 to 1000
            bad max_subtasks     | '[tasks]\\nmax_subtasks = -3\\n'                   | 2 | tasks.max_subtasks        | invalid value -3
            bad max_timeout      | '[tasks]\\nmax_timeout = "1 week"\\n'              | 2 | tasks.max_timeout         | invalid value "1 week"
            bad max_compute      | '[tasks]\\nmax_compute = "MAX"\\n'                 | 2 | tasks.max_compute         | invalid value "MAX"
            bad max_retries      | '[tasks]\\nmax_retries = 1.0\\n'                   | 2 | tasks.max_retries         | invalid value 1.0
            bad files mode       | '[tasks]\nmax_allowed_files = [{path = "./d", mode = "rx"}]\n' | 2 | tasks.max_allowed_files | invalid value [{"path":"./d","mode":"rx"}]: mode "rx" is not one of
            files not a list     | '[tasks]\nmax_allowed_files = 3\n'               | 2 | tasks.max_allowed_files   | invalid value 3: expected a list
            bad host pattern     | '[tasks]\nmax_allowed_hosts = ["a b"]\n'          | 2 | tasks.max_allowed_hosts   | invalid value ["a b"]: "a b" is not a host name
            bad env name         | '[tasks]\nmax_env_variables = ["1X"]\n'           | 2 | tasks.max_env_variables   | invalid value ["1X"]: "1X" is not an environment variable name
            bad http requests    | '[tasks]\nmax_http_requests = -1\n'               | 2 | tasks.max_http_requests   | invalid value -1: expected a whole number
            bad http response    | '[tasks]\nmax_http_response = "huge"\n'          | 2 | tasks.max_http_response   | invalid value "huge": expected a size
            bad http timeout     | '[tasks]\nhttp_timeout = "0s"\n'                  | 2 | tasks.http_timeout        | invalid value "0s": a duration must be greater than zero
            bad http redirects   | '[tasks]\nmax_http_redirects = 1000\n'            | 2 | tasks.max_http_redirects  | invalid value 1000: expected a whole number from 0 to 100
            ram above ceiling    | '[tasks]\\nmax_ram = "64MB"\\ndefault_ram = "1GB"\\n'            | 3 | tasks.default_ram         | is above max_ram
            fuel above ceiling   | '[tasks]\\nmax_compute = "LOW"\\ndefault_compute = "HIGH"\\n'    | 3 | tasks.default_compute     | is above max_compute
            timeout above ceil.  | '[tasks]\\nmax_timeout = "1s"\\ndefault_timeout = "1m"\\n'       | 3 | tasks.default_timeout     | is above max_timeout (1s)
            retries above ceil.  | '[tasks]\\nmax_retries = 1\\ndefault_max_retries = 2\\n'         | 3 | tasks.default_max_retries | is above max_retries
            """)
    void everyBadInputNamesFileLineAndKey(String what, String toml, int line, String key, String problem) {
        String text = toml.replace("\\n", "\n");
        assertThatThrownBy(() -> ProjectConfig.parse(FILE, text))
                .as(what)
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.file()).isEqualTo(FILE);
                    assertThat(e.line()).isEqualTo(line);
                    assertThat(e.key()).isEqualTo(key);
                    assertThat(e.getMessage())
                            .startsWith(FILE + ":" + line + (key == null ? "" : ": " + key) + ": ")
                            .contains(problem);
                });
    }

    @Test
    void unreadableFileIsReported() {
        assertThatThrownBy(() -> ProjectConfig.parse(dir.resolve("missing.toml")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("missing.toml: cannot read");
    }
}
