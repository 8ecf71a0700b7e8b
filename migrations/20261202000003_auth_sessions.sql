-- Refresh tokens rotate, and a spent one presented again revokes its whole line (API.md, Auth).
-- A line (a session) starts at a login or registration; every refresh spends its token and adds
-- the line's next one. Revoking is a flag on the line, so a token the line gains while it is
-- being revoked (a refresh racing the logout) is refused at its first use all the same.
CREATE TABLE auth_sessions (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- That of its newest token: past it, nothing of the line can refresh and it is pruned.
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);
CREATE INDEX auth_sessions_expires_idx ON auth_sessions (expires_at);

-- One row per refresh token issued; `jti` is the token's own claim.
CREATE TABLE refresh_tokens (
    jti        uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    spent_at   timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

-- Guessing limits of `login`, shared by every instance: per email (lower-cased, as typed) and per
-- client address, the times of the recent failed attempts within the window, newest first, at
-- most a limit's worth plus one. One row per key, so concurrent attempts on a key serialize on
-- its row lock and each sees the others: none slips past the limit.
CREATE TABLE login_failures (
    scope          text NOT NULL CHECK (scope IN ('email', 'address')),
    subject        text NOT NULL,
    failed_at      timestamptz[] NOT NULL,
    last_failed_at timestamptz NOT NULL,
    PRIMARY KEY (scope, subject)
);
CREATE INDEX login_failures_last_idx ON login_failures (last_failed_at);
