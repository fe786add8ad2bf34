/** Client commands, answered on `<prefix>.api.<command>` and `<prefix>.replica.<id>.<command>`. */
export const CLIENT_COMMANDS = ['create', 'update', 'get', 'keys', 'history', 'before-sync', 'status'] as const;
/** Round commands from the coordinator, answered only on `<prefix>.replica.<id>.<command>`. */
export const ROUND_COMMANDS = ['freeze', 'cut', 'commit', 'resume', 'digests'] as const;
/** The event a replica sends a peer that misses its events: `<prefix>.replica.<peer>.resend`. */
export const RESEND_EVENT = 'resend';
