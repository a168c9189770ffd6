package io.agentstate.testsupport;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import org.junit.jupiter.api.Test;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

/** The dependency rules of STYLE.md, floor by floor: data enters at the top, is decided in ledger, event is the ground. */
class ArchitectureTest {

    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.agentstate");

    @Test
    void shouldKeepTheEventPackageFreeOfEverythingElseOfOurs() {
        noClasses().that().resideInAPackage("io.agentstate.event..")
                .should().dependOnClassesThat().resideInAnyPackage("io.agentstate.ingest..", "io.agentstate.ledger..",
                        "io.agentstate.query..", "io.agentstate.chat..", "io.agentstate.memory..",
                        "io.agentstate.platform..")
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
                        "io.agentstate.query..", "io.agentstate.chat..", "io.agentstate.memory..")
                .check(MAIN);
    }
}
