package io.agentstate.security;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The role a route needs. A resource method without it needs what its class names, and a class without it
 * {@link Role#READER}: nothing of ours is open by omission. {@link #open()} marks the few public routes (the schemas).
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ ElementType.TYPE, ElementType.METHOD })
public @interface Requires {

    Role value() default Role.READER;

    /** No credentials needed at all. */
    boolean open() default false;
}
