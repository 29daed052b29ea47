// Capsule's JavaScript/TypeScript SDK, imported as "@capsule-run/sdk".
//
//   import { task } from "@capsule-run/sdk";
//   export const analyze = task({ name: "analyze", ram: "64MB", timeout: "5s", maxRetries: 2 },
//     (rows) => ({ count: rows.length }));
//   export const main = task({ name: "main" }, async () => ({ child: await analyze([1, 2, 3]) }));
//
// Calling a task from another task runs it on the host in a new sandbox instance with its own limits and
// retries, and returns the child's result envelope: { success, result, error, execution }. The host checks
// every option (it does not trust them): a bad value fails the run with invalid_task.

const runtime = globalThis.__capsule;

/**
 * Declares a task. Returns a function that, called from a running task, schedules this task as a
 * sub-task and returns its envelope.
 */
export function task(options, fn) {
  const label = options && typeof options.name === "string" ? "task '" + options.name + "'" : "task()";
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    runtime.problem(label + ": options must be an object like { name: \"main\" }, got " + describe(options));
    return notRunnable;
  }
  if (typeof options.name !== "string" || options.name.trim() === "") {
    runtime.problem(label + ": the option 'name' is required and must be a non-empty string, got " + describe(options.name));
    return notRunnable;
  }
  if (typeof fn !== "function") {
    runtime.problem(label + ": the second argument must be the task's function, got " + describe(fn));
    return notRunnable;
  }
  const name = options.name;
  const declared = Object.assign({}, options);
  const wrapper = (...args) => runtime.call(name, declared, args);
  Object.defineProperties(wrapper, {
    taskName: { value: name },
    options: { value: declared },
    fn: { value: fn },
  });
  runtime.register(name, fn, declared);
  return wrapper;
}

/** Which attempt of the running task this is: 0 for the first, 1 for the first retry, and so on. */
export function attempt() {
  return runtime.attempt();
}

function notRunnable() {
  throw new Error("capsule: this task was declared with invalid options");
}

function describe(value) {
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value);
  } catch (e) {
    return String(value);
  }
}

export default { task, attempt };
