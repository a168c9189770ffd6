package io.agentstate.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.security.GeneralSecurityException;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.PredefinedAeadParameters;

import io.agentstate.platform.AgentStateConfig;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.Startup;

/**
 * The master keyset, held outside the database (environment or Secret), that wraps every data key. Rotation: add a new
 * key to the keyset and make it primary; data keys wrapped by the older keys still unwrap, new ones use the primary.
 */
@ApplicationScoped
@Startup
public class MasterKey {

    private static final Logger LOG = Logger.getLogger(MasterKey.class);

    private final Aead aead;
    private final int primaryId;

    @Inject
    MasterKey(AgentStateConfig config) {
        this(keyset(config.crypto()));
    }

    /** A master key from a keyset at hand (tests rotate keysets this way). */
    MasterKey(KeysetHandle keyset) {
        try {
            AeadConfig.register();
            this.aead = keyset.getPrimitive(RegistryConfiguration.get(), Aead.class);
            this.primaryId = keyset.getPrimary().getId();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("agent-state.crypto.master-keyset is not a usable Tink AEAD keyset: "
                    + e.getMessage(), e);
        }
    }

    private static KeysetHandle keyset(AgentStateConfig.Crypto crypto) {
        try {
            AeadConfig.register();
            return load(crypto);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("agent-state.crypto.master-keyset is not a usable Tink AEAD keyset: "
                    + e.getMessage(), e);
        }
    }

    Aead aead() {
        return aead;
    }

    /** The id of the primary key, which wraps new data keys. */
    int primaryId() {
        return primaryId;
    }

    /** A new master keyset as Tink JSON: what an operator stores in the Secret (and what the local run writes). */
    public static String generate() throws GeneralSecurityException {
        AeadConfig.register();
        return TinkJsonProtoKeysetFormat.serializeKeyset(KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM),
                InsecureSecretKeyAccess.get());
    }

    private static KeysetHandle load(AgentStateConfig.Crypto crypto) throws GeneralSecurityException {
        String json = crypto.masterKeyset().orElse(null);
        if (json == null && crypto.masterKeysetFile().isPresent()) {
            try {
                json = Files.readString(crypto.masterKeysetFile().get());
            } catch (IOException e) {
                throw new UncheckedIOException("agent-state.crypto.master-keyset-file unreadable", e);
            }
        }
        if (json != null) {
            return TinkJsonProtoKeysetFormat.parseKeyset(json, InsecureSecretKeyAccess.get());
        }
        if (LaunchMode.current() == LaunchMode.NORMAL) {
            throw new IllegalStateException("No master key: set agent-state.crypto.master-keyset (Tink JSON keyset, "
                    + "e.g. from a Secret) or agent-state.crypto.master-keyset-file; docs/security.md shows how to make one");
        }
        // dev mode and tests without a configured key: data written now is unreadable after a restart
        LOG.warn("No master key configured: using a throwaway one; data encrypted now is unreadable after a restart");
        return KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM);
    }
}
