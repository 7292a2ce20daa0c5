// The active message catalogue; switching language means importing another `Messages` object here.
import { es, type Messages } from './es';

export const t: Messages = es;
export type { Messages };
