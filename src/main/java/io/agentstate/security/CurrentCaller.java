package io.agentstate.security;

import jakarta.enterprise.context.RequestScoped;

/** The caller of the request being served, set by {@link CallerFilter} before any resource method runs. */
@RequestScoped
public class CurrentCaller {

    private Caller caller;

    void set(Caller caller) {
        this.caller = caller;
    }

    public Caller get() {
        if (caller == null) {
            // a route reached without the filter would otherwise act for nobody in particular
            throw new IllegalStateException("no authenticated caller on this request");
        }
        return caller;
    }

    /** The tenant every read and write of this request is scoped to. */
    public String tenant() {
        return get().tenant();
    }
}
