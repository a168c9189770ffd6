package io.agentstate.testsupport;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Set;

import io.smallrye.jwt.build.Jwt;

/**
 * Real RS256 tokens for tests: signed with a key pair made for this JVM, whose public half a test profile gives the
 * service as {@code mp.jwt.verify.publickey}. A second pair signs tokens the service must refuse.
 */
public final class Tokens {

    public static final String ISSUER = "https://issuer.agent-state.test";
    // Kept in files, because a Quarkus test profile and the test itself may load this class in two class loaders,
    // and both must sign and verify with the same pair.
    private static final Path DIR = Path.of("target", "test-jwt");
    private static final KeyPair TRUSTED = load("trusted");
    private static final KeyPair UNTRUSTED = load("untrusted");

    private Tokens() {
    }

    /** The trusted public key as PEM, for {@code mp.jwt.verify.publickey}. */
    public static String publicKeyPem() {
        return "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(TRUSTED.getPublic().getEncoded())
                + "\n-----END PUBLIC KEY-----";
    }

    /** A valid token for a tenant with these groups. */
    public static String token(String tenant, String... groups) {
        return Jwt.issuer(ISSUER).subject("agent-" + tenant).claim("tenant", tenant).groups(Set.of(groups))
                .expiresIn(Duration.ofMinutes(10)).sign(TRUSTED.getPrivate());
    }

    public static String expired(String tenant, String... groups) {
        return Jwt.issuer(ISSUER).subject("agent-" + tenant).claim("tenant", tenant).groups(Set.of(groups))
                .issuedAt(Instant.now().minus(Duration.ofHours(2))).expiresAt(Instant.now().minus(Duration.ofHours(1)))
                .sign(TRUSTED.getPrivate());
    }

    public static String wronglySigned(String tenant, String... groups) {
        return Jwt.issuer(ISSUER).subject("agent-" + tenant).claim("tenant", tenant).groups(Set.of(groups))
                .expiresIn(Duration.ofMinutes(10)).sign(UNTRUSTED.getPrivate());
    }

    public static String wrongIssuer(String tenant, String... groups) {
        return Jwt.issuer("https://someone-else.test").subject("agent-" + tenant).claim("tenant", tenant)
                .groups(Set.of(groups)).expiresIn(Duration.ofMinutes(10)).sign(TRUSTED.getPrivate());
    }

    public static String withoutTenant(String... groups) {
        return Jwt.issuer(ISSUER).subject("agent-nobody").groups(Set.of(groups)).expiresIn(Duration.ofMinutes(10))
                .sign(TRUSTED.getPrivate());
    }

    private static synchronized KeyPair load(String name) {
        Path file = DIR.resolve(name + ".der");
        try {
            if (!Files.exists(file)) {
                KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
                generator.initialize(2048);
                KeyPair pair = generator.generateKeyPair();
                Files.createDirectories(DIR);
                Path partial = Files.createTempFile(DIR, name, ".tmp");
                Files.write(partial, pair.getPrivate().getEncoded());
                try {
                    Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException e) {
                    Files.delete(partial);
                }
            }
            KeyFactory factory = KeyFactory.getInstance("RSA");
            RSAPrivateCrtKey key = (RSAPrivateCrtKey) factory.generatePrivate(
                    new PKCS8EncodedKeySpec(Files.readAllBytes(file)));
            PublicKey publicKey = factory.generatePublic(new RSAPublicKeySpec(key.getModulus(), key.getPublicExponent()));
            return new KeyPair(publicKey, key);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("test signing keys unavailable in " + DIR, e);
        }
    }
}
