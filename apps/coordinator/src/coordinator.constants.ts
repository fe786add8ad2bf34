/** Injection tokens of the coordinator app. */
export const SETTINGS = Symbol('CoordinatorSettings');
export const LOGGER = Symbol('Logger');
export const RUNTIME = Symbol('CoordinatorRuntime');
/** The runtime's optional metrics hooks (`CoordinatorInstruments`). */
export const INSTRUMENTS = Symbol('CoordinatorInstruments');
