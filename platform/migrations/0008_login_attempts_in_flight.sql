-- Login attempts being checked (app/src/auth/throttle.rs): each is admitted before its password is
-- hashed and counts against its email's and client's limits with the failures, until it becomes a
-- failure or is freed. in_flight_until forgets the places of a process that died mid-login.
-- Keys are now also 'typos:<client> <email>' (failures forgiven when that email logs in there).
ALTER TABLE login_failures
    ADD COLUMN in_flight integer NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
    ADD COLUMN in_flight_until timestamptz NOT NULL DEFAULT '-infinity';
