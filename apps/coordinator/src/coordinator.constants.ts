/** Injection tokens of the coordinator app. */
export const SETTINGS = Symbol('CoordinatorSettings');
export const LOGGER = Symbol('Logger');
export const RUNTIME = Symbol('CoordinatorRuntime');
