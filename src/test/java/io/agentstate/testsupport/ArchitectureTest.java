package io.agentstate.testsupport;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.simpleNameStartingWith;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import java.util.Set;

import org.junit.jupiter.api.Test;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

/** The dependency rules of STYLE.md, floor by floor: data enters at the top, is decided in ledger, event is the ground. */
class ArchitectureTest {

    // What the entry floors may see of the ledger: its read model (the state and its parts, keys, decisions) and the
    // stores they read through. Everything else in ledger (the applier, its repository, the decider, the dead-letter
    // path, the snapshotter, the codecs of views) is the ledger's own.
    private static final Set<String> LEDGER_READ_MODEL = Set.of("SessionState", "SessionKey", "SessionStatus",
            "ToolCallStatus", "Decision", "StoredDecision", "SessionHead", "SessionViewStore", "ArchiveRepository",
            // the one administrative entry: forgetting a user destroys keys and drops views, which only the ledger may do
            "UserForgetting");
    private static final DescribedPredicate<JavaClass> LEDGER_INTERNALS = DescribedPredicate.describe("ledger internals",
            type -> type.getPackageName().startsWith("io.agentstate.ledger")
                    && !LEDGER_READ_MODEL.contains(type.getName().substring(type.getPackageName().length() + 1)
                            .split("\\$")[0]));

    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.agentstate");

    @Test
    void shouldKeepTheEventPackageFreeOfEverythingElseOfOurs() {
        noClasses().that().resideInAPackage("io.agentstate.event..")
                .should().dependOnClassesThat().resideInAnyPackage("io.agentstate.ingest..", "io.agentstate.ledger..",
                        "io.agentstate.query..", "io.agentstate.chat..", "io.agentstate.memory..",
                        "io.agentstate.platform..", "io.agentstate.security..")
                .check(MAIN);
    }

    @Test
    void shouldLetNothingDependOnChat() {
        noClasses().that().resideOutsideOfPackage("io.agentstate.chat..")
                .should().dependOnClassesThat().resideInAPackage("io.agentstate.chat..")
                .check(MAIN);
    }

    @Test
    void shouldKeepTheLedgerTheOnlyWriter() {
        noClasses().that().resideOutsideOfPackage("io.agentstate.ledger..")
                .should().dependOnClassesThat().haveSimpleNameStartingWith("SessionLedger")
                .orShould().dependOnClassesThat().haveSimpleNameStartingWith("LedgerRepository")
                .orShould().dependOnClassesThat().haveSimpleNameStartingWith("BatchDecider")
                .orShould().dependOnClassesThat().haveSimpleNameStartingWith("DeadLetters")
                .orShould().dependOnClassesThat().haveSimpleNameStartingWith("Snapshotter")
                .check(MAIN);
    }

    @Test
    void shouldKeepTheLedgerBelowTheEntryFloors() {
        noClasses().that().resideInAPackage("io.agentstate.ledger..")
                .should().dependOnClassesThat().resideInAnyPackage("io.agentstate.ingest..", "io.agentstate.query..",
                        "io.agentstate.chat..", "io.agentstate.memory..")
                .check(MAIN);
    }

    @Test
    void shouldMakeChatAClientThatReadsThroughQueryAndWritesThroughIngest() {
        noClasses().that().resideInAPackage("io.agentstate.chat..")
                .should().dependOnClassesThat().haveSimpleNameEndingWith("Repository")
                .orShould().dependOnClassesThat().haveSimpleNameEndingWith("Store")
                .orShould().dependOnClassesThat().haveSimpleNameEndingWith("Publisher")
                .check(MAIN);
    }

    @Test
    void shouldKeepPlatformUnderEveryFeature() {
        noClasses().that().resideInAPackage("io.agentstate.platform..")
                .should().dependOnClassesThat().resideInAnyPackage("io.agentstate.ingest..", "io.agentstate.ledger..",
                        "io.agentstate.query..", "io.agentstate.chat..", "io.agentstate.memory..",
                        "io.agentstate.security..")
                .check(MAIN);
    }

    @Test
    void shouldKeepSecurityBesideThePlatformUnderEveryFeature() {
        // every floor asks security who the caller is and for keys; the ledger writes the audit chain and query verifies
        // it: security itself knows no feature
        noClasses().that().resideInAPackage("io.agentstate.security..")
                .should().dependOnClassesThat().resideInAnyPackage("io.agentstate.ingest..", "io.agentstate.ledger..",
                        "io.agentstate.query..", "io.agentstate.chat..", "io.agentstate.memory..")
                .check(MAIN);
    }

    @Test
    void shouldKeepLedgerInternalsToTheLedger() {
        noClasses().that().resideOutsideOfPackage("io.agentstate.ledger..")
                .should().dependOnClassesThat(LEDGER_INTERNALS)
                .check(MAIN);
    }

    @Test
    void shouldLetOnlyTheLedgerAdvanceViewsAndSnapshots() {
        // Readers may install a view they rebuilt (the floor in Redis refuses a stale one); only the ledger publishes,
        // drops views, and stores snapshots.
        noClasses().that().resideOutsideOfPackage("io.agentstate.ledger..")
                .should().callMethodWhere(DescribedPredicate.describe("SessionViewStore.publish or invalidate",
                        call -> call.getTarget().getOwner().getSimpleName().equals("SessionViewStore")
                                && (call.getTarget().getName().equals("publish")
                                        || call.getTarget().getName().equals("invalidate"))))
                .orShould().callMethodWhere(DescribedPredicate.describe("ArchiveRepository.saveSnapshot",
                        call -> call.getTarget().getOwner().getSimpleName().equals("ArchiveRepository")
                                && call.getTarget().getName().equals("saveSnapshot")))
                .check(MAIN);
    }

    @Test
    void shouldKeepQueryAReaderThatNeverWrites() {
        noClasses().that().resideInAPackage("io.agentstate.query..")
                .should().dependOnClassesThat().resideInAnyPackage("io.agentstate.ingest..", "io.agentstate.chat..",
                        "io.agentstate.memory..")
                .check(MAIN);
    }

    @Test
    void shouldMakeChatUseNoLedgerClassBeyondTheReadModel() {
        noClasses().that().resideInAPackage("io.agentstate.chat..")
                .should().dependOnClassesThat(LEDGER_INTERNALS.or(simpleNameStartingWith("SessionViewStore"))
                        .or(simpleNameStartingWith("ArchiveRepository")).or(simpleNameStartingWith("StoredDecision")))
                .check(MAIN);
    }
}
