-- Failed key attempts per client address, shared by every instance over one PostgreSQL (src/domain/auth-throttle.ts,
-- src/store/auth-failures.ts): N instances behind a balancer together allow AUTH_FAILURES_PER_ADDRESS failures
-- per block, not N times as many. One row per address that failed lately: its failures in the current window and
-- when that window ends, or, once blocked, when the block ends. A row past expires_at is dead (the next failure
-- starts it afresh) and the retention job deletes it (src/store/retention.ts). The embedded store, one process,
-- keeps counting in memory and leaves this table empty.
--
-- The address is stored as text, the throttle's key (an IPv4 address, or an IPv6 /64): a hash without a secret
-- would hide nothing (2^32 IPv4 addresses are hashed through in minutes), a keyed one would hide the address from
-- the operator who must find or lift a block (DELETE FROM auth_failures WHERE address = '...'), and the log line
-- of each block names the address anyway. Addresses are personal data (not biometric): a row lives at most the
-- window or the block plus an hour, and holds nothing but the address, a count and two times.
CREATE TABLE auth_failures (
  address text PRIMARY KEY,
  failures integer NOT NULL,
  blocked boolean NOT NULL,
  expires_at timestamptz NOT NULL
);
