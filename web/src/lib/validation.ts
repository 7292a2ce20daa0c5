// Client-side checks that mirror the server's rules: the API document's minLength/maxLength/pattern plus the spec's.
import { t } from '$lib/i18n';

interface Rule {
	/** Length bounds in Unicode characters, of the trimmed value when `trim` is set. */
	min: number;
	max: number;
	/** The document's bounds on the raw value (the server's body-level cap). */
	rawMin?: number;
	rawMax?: number;
	/** The document's pattern, tested on the raw value as the server does. */
	pattern?: RegExp;
	/** The server trims this field before its own length rule. */
	trim: boolean;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const EMAIL = /^[^\s@,]+@[^\s@,.]+(\.[^\s@,.]+)+$/u;

function compile(pattern: string | undefined): RegExp | undefined {
	if (!pattern) return undefined;
	try {
		return new RegExp(pattern, 'u');
	} catch {
		return undefined; // A pattern JavaScript cannot read: the server still checks it.
	}
}

/** A field's rule: the spec's trimmed length (for messages) and the document's raw bounds and pattern. */
function rule(
	schema: 'signup' | 'login' | 'upload' | 'report' | 'decision' | 'round',
	field: string,
	spec: { min: number; max: number },
	trim: boolean
): Rule {
	const doc = __API_RULES__[schema]?.[field] ?? {};
	return {
		// Untrimmed fields (passwords) take their bounds from the document when it states them.
		min: trim ? spec.min : (doc.minLength ?? spec.min),
		max: trim ? spec.max : (doc.maxLength ?? spec.max),
		rawMin: doc.minLength,
		rawMax: doc.maxLength,
		pattern: compile(doc.pattern),
		trim
	};
}

const NAME = { min: 1, max: 100 };

export const signupRules = {
	first_name: rule('signup', 'first_name', NAME, true),
	last_name: rule('signup', 'last_name', NAME, true),
	email: rule('signup', 'email', { min: 3, max: 254 }, true),
	password1: rule('signup', 'password1', { min: 8, max: 128 }, false),
	password2: rule('signup', 'password2', { min: 8, max: 128 }, false),
	city: rule('signup', 'city', NAME, true),
	country: rule('signup', 'country', NAME, true)
};

export const titleRule = rule('upload', 'title', { min: 1, max: 200 }, true);

/** A report's own words (`details`) and a staff decision's reason: the API's notes of 1–500 characters. */
const NOTE = { min: 1, max: 500 };
export const reportDetailsRule = rule('report', 'details', NOTE, true);
export const decisionReasonRule = rule('decision', 'reason', NOTE, true);
/** A round's name (and each of its cities: the same 1–100 characters). */
export const roundNameRule = rule('round', 'name', NAME, true);

/** Length in Unicode characters, as the server counts. */
const chars = (s: string) => [...s].length;

function lengthMessage(n: number, min: number, max: number): string {
	if (n >= min && n <= max) return '';
	if (min <= 1) return t.validation.tooLong(max);
	return t.validation.between(min, max);
}

/** The message for a value that breaks its rule, or '' when it is fine. */
export function checkField(value: string, r: Rule): string {
	const v = r.trim ? value.trim() : value;
	if (v.length === 0) return t.validation.required;
	const msg = lengthMessage(chars(v), r.min, r.max) || lengthMessage(chars(value), r.rawMin ?? 0, r.rawMax ?? Infinity);
	if (msg) return msg;
	if (r.trim && CONTROL.test(v)) return t.validation.control;
	if (r.pattern && !r.pattern.test(value)) return t.validation.pattern;
	return '';
}

export function checkEmail(value: string, r: Rule = signupRules.email): string {
	const v = value.trim();
	if (v.length === 0) return t.validation.required;
	if (chars(v) > r.max) return t.validation.tooLong(r.max);
	if (!EMAIL.test(v)) return t.validation.email;
	if (r.pattern && !r.pattern.test(value)) return t.validation.email;
	return '';
}
