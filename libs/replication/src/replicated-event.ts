/**
 * The event-batch wire codec moved to libs/protocol (`#protocol/replicated-event`): every
 * wire format lives there. This re-export keeps branches that still import it from here
 * building until they are merged; new code imports `#protocol/replicated-event`.
 */
export * from '#protocol/replicated-event';
