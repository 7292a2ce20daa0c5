// Formatting of numbers, sizes, durations and dates for Spanish-speaking people.
const intFmt = new Intl.NumberFormat('es');
const oneDecimal = new Intl.NumberFormat('es', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const dateFmt = new Intl.DateTimeFormat('es', { day: 'numeric', month: 'short', year: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat('es', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const timeFmt = new Intl.DateTimeFormat('es', { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const MB = 1024 * 1024;

export const int = (n: number) => intFmt.format(n);
export const megabytes = (bytes: number) => oneDecimal.format(bytes / MB);
export const seconds = (s: number) => oneDecimal.format(s);
export const date = (iso: string) => dateFmt.format(new Date(iso));
export const dateTime = (iso: string) => dateTimeFmt.format(new Date(iso));
export const time = (d: Date) => timeFmt.format(d);
