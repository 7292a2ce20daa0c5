// Voting rounds without a browser: the new-round form's checks, which round the rankings page tells about, and time left.
import type { NewRoundRequest, Round } from '$lib/api/client';
import { checkField, roundNameRule } from '$lib/validation';
import { t } from '$lib/i18n';

/** The new-round form as typed (`datetime-local` values are the browser's local time). */
export interface RoundForm {
	name: string;
	opensAt: string;
	closesAt: string;
	/** Cities separated by commas or lines; empty: every city. */
	cities: string;
	finalists: string;
}

export type RoundField = 'name' | 'opens_at' | 'closes_at' | 'cities' | 'finalists_per_city';

/** The most cities one round may name (the API's rule). */
const MAX_CITIES = 50;

/** The cities typed, trimmed, without empty entries. */
export function cityList(text: string): string[] {
	return text
		.split(/[,\n]/)
		.map((c) => c.trim())
		.filter(Boolean);
}

/** A `datetime-local` value as an instant, or null when it is not one. */
function instant(value: string): Date | null {
	if (!value) return null;
	const d = new Date(value);
	return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * The request body for the form, or every field to fix and why: the same rules the API applies (a name, a window that
 * closes after it opens and in the future, 1–50 distinct cities or none for all, 1–100 finalists per city).
 */
export function roundBody(
	form: RoundForm,
	now: Date
): { body: NewRoundRequest } | { errors: Partial<Record<RoundField, string>> } {
	const errors: Partial<Record<RoundField, string>> = {};
	const name = checkField(form.name, roundNameRule);
	if (name) errors.name = name;
	const opens = instant(form.opensAt);
	const closes = instant(form.closesAt);
	if (!opens) errors.opens_at = t.validation.required;
	if (!closes) errors.closes_at = t.validation.required;
	else if (opens && closes <= opens) errors.closes_at = t.rounds.closesAfterOpens;
	else if (closes <= now) errors.closes_at = t.rounds.closesInFuture;
	const cities = cityList(form.cities);
	if (cities.length > MAX_CITIES) errors.cities = t.rounds.tooManyCities(MAX_CITIES);
	else {
		const seen = new Set<string>();
		for (const city of cities) {
			const bad = checkField(city, roundNameRule);
			if (bad) {
				errors.cities = `${city}: ${bad}`;
				break;
			}
			if (seen.has(city.toLowerCase())) {
				errors.cities = t.rounds.repeatedCity(city);
				break;
			}
			seen.add(city.toLowerCase());
		}
	}
	const finalists = Number(form.finalists);
	if (!/^\d+$/.test(form.finalists.trim()) || finalists < 1 || finalists > 100) {
		errors.finalists_per_city = t.rounds.finalistsRange;
	}
	if (Object.keys(errors).length > 0 || !opens || !closes) return { errors };
	return {
		body: {
			name: form.name.trim(),
			opens_at: opens.toISOString(),
			closes_at: closes.toISOString(),
			cities: cities.length > 0 ? cities : null,
			finalists_per_city: finalists
		}
	};
}

/** A `datetime-local` value (local time, minutes) for an instant: the form's defaults. */
export function localInput(d: Date): string {
	const pad = (n: number) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "2 días y 3 h", "3 h y 20 min", "5 min", "menos de un minuto": what is left until `until`. */
export function timeLeft(until: string, now: Date): string {
	const minutes = Math.floor((new Date(until).getTime() - now.getTime()) / 60_000);
	if (minutes < 1) return t.rounds.lessThanMinute;
	const days = Math.floor(minutes / 1440);
	const hours = Math.floor((minutes % 1440) / 60);
	const mins = minutes % 60;
	if (days > 0) return hours > 0 ? `${t.rounds.days(days)} y ${hours} h` : t.rounds.days(days);
	if (hours > 0) return mins > 0 ? `${hours} h y ${mins} min` : `${hours} h`;
	return `${mins} min`;
}

/** Whether a round covers a city (null cities: every city; names compared as the API does, ignoring case). */
export function covers(round: Pick<Round, 'cities'>, city: string): boolean {
	return round.cities === null || round.cities === undefined || round.cities.some((c) => c.toLowerCase() === city.toLowerCase());
}

/**
 * What the rankings page tells about rounds (the public list, latest opening first), for `city` ('' for any): the
 * open round covering it, else the next scheduled one, and the last closed one (its final standings).
 */
export function roundsToShow(
	rounds: readonly Round[],
	city: string
): { open: Round | null; next: Round | null; closed: Round | null } {
	const mine = rounds.filter((r) => !city || covers(r, city));
	const open = mine.find((r) => r.status === 'open') ?? null;
	const scheduled = mine.filter((r) => r.status === 'scheduled');
	const next = open ? null : (scheduled.sort((a, b) => a.opens_at.localeCompare(b.opens_at))[0] ?? null);
	const closed = mine.find((r) => r.status === 'closed') ?? null;
	return { open, next, closed };
}
