package io.agentstate.security;

/** A request whose credentials are missing or do not verify: answered 401 with a {@code WWW-Authenticate} challenge. */
public class NotAuthenticatedException extends RuntimeException {

    private final boolean credentialsPresented;

    public NotAuthenticatedException(String detail, boolean credentialsPresented) {
        super(detail);
        this.credentialsPresented = credentialsPresented;
    }

    /** Whether the request carried a credential that failed (RFC 6750 {@code error="invalid_token"}). */
    public boolean credentialsPresented() {
        return credentialsPresented;
    }
}
