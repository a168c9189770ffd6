package io.agentstate.ui;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.quarkus.runtime.StartupEvent;
import io.vertx.ext.web.Router;

/**
 * The inspector is static files under {@code META-INF/resources/ui/} (ES modules that call the HTTP API with the
 * browser's credential); this class only sends {@code /ui} to {@code /ui/} and names the address at start-up.
 */
@ApplicationScoped
public class InspectorRoutes {

    private static final Logger LOG = Logger.getLogger(InspectorRoutes.class);

    private final int port;
    private final String host;

    InspectorRoutes(@ConfigProperty(name = "quarkus.http.port", defaultValue = "8080") int port,
            @ConfigProperty(name = "quarkus.http.host", defaultValue = "localhost") String host) {
        this.port = port;
        this.host = host;
    }

    void install(@Observes Router router) {
        // Vert.x matches "/ui" for "/ui/" too: only the bare path is sent on, the files are served by Quarkus
        router.get("/ui").handler(context -> {
            if (context.request().path().equals("/ui")) {
                context.redirect("/ui/");
            } else {
                context.next();
            }
        });
    }

    void announce(@Observes StartupEvent event) {
        String shown = host.equals("0.0.0.0") ? "localhost" : host;
        LOG.infof(
                "Inspector UI: http://%s:%d/ui/ (with credentials required, it asks once per browser session for a JWT or an API key)",
                shown, port);
    }
}
