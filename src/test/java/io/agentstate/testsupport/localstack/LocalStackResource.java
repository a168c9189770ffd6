package io.agentstate.testsupport.localstack;

import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Points every {@code @QuarkusTest} at one throwaway local stack per test JVM, started on first use and stopped when the
 * JVM exits (Quarkus may restart the application between test classes; the servers stay).
 */
public class LocalStackResource implements QuarkusTestResourceLifecycleManager {

    private static LocalStack shared;

    /** The stack shared by every component test in this JVM. */
    public static synchronized LocalStack shared() {
        if (shared == null) {
            shared = LocalStack.start(LocalStack.Settings.throwaway());
            LocalStack stack = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(stack::close, "local-stack-stop"));
        }
        return shared;
    }

    @Override
    public Map<String, String> start() {
        return shared().serviceConfig();
    }

    @Override
    public void stop() {
        // The servers outlive one application start; the shutdown hook stops them with the JVM.
    }
}
