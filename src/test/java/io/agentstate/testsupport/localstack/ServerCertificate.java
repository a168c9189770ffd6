package io.agentstate.testsupport.localstack;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A throwaway self-signed server certificate for {@code 127.0.0.1} and {@code localhost}, shared by the local stack's
 * servers so each of them can offer TLS. Made with the JDK's own {@code keytool}: a fresh machine has a JDK but maybe no
 * openssl, and the JDK has no public API that signs a certificate.
 *
 * @param certificate the certificate as PEM, which is also what a client trusts (there is no CA)
 * @param privateKey its key as unencrypted PKCS#8 PEM, readable by the owner only (PostgreSQL refuses anything looser)
 * @param keyStore certificate and key as PKCS12 (Kafka's broker reads this one)
 * @param password of {@code keyStore} and of the key inside it
 */
public record ServerCertificate(Path certificate, Path privateKey, Path keyStore, String password) {

    private static final String ALIAS = "server";
    // Not a secret: the key is throwaway and also lies unencrypted beside the store.
    private static final String PASSWORD = "agent-state-local";

    /** The certificate in {@code dir}, made there on first use; a directory keeps its certificate across restarts. */
    public static ServerCertificate in(Path dir) throws IOException {
        ServerCertificate files = new ServerCertificate(dir.resolve("server.crt"), dir.resolve("server.key"),
                dir.resolve("server.p12"), PASSWORD);
        if (Files.exists(files.certificate()) && Files.exists(files.privateKey()) && Files.exists(files.keyStore())) {
            return files;
        }
        Files.createDirectories(dir);
        Files.deleteIfExists(files.keyStore());
        files.generate();
        return files;
    }

    private void generate() throws IOException {
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        // EC keys are made in milliseconds where RSA takes a noticeable part of a second; every server here accepts them.
        List<String> command = List.of(keytool.toString(), "-genkeypair", "-alias", ALIAS, "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1",
                "-validity", "3650", "-storetype", "PKCS12", "-keystore", keyStore.toString(),
                "-storepass", password, "-keypass", password);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IllegalStateException("keytool could not make a certificate: " + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while making a certificate", e);
        }
        try (InputStream in = Files.newInputStream(keyStore)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password.toCharArray());
            Key key = store.getKey(ALIAS, password.toCharArray());
            Certificate cert = store.getCertificate(ALIAS);
            // PKCS12 keeps the key as PKCS#8, which is what getEncoded() returns and what OpenSSL reads as "PRIVATE KEY"
            writeOwnerOnly(privateKey, pem("PRIVATE KEY", ((PrivateKey) key).getEncoded()));
            Files.writeString(certificate, pem("CERTIFICATE", cert.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("The certificate made by keytool could not be read", e);
        }
    }

    /** A client context that trusts this certificate and nothing else (the HTTPS tests use it). */
    public SSLContext clientContext() {
        try (InputStream in = Files.newInputStream(keyStore)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password.toCharArray());
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry(ALIAS, (X509Certificate) store.getCertificate(ALIAS));
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, factory.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("No client context for " + certificate, e);
        }
    }

    private static String pem(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    }

    private static void writeOwnerOnly(Path file, String content) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, content);
    }
}
