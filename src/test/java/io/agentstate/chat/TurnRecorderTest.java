package io.agentstate.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.agentstate.ledger.SessionKey;
import io.agentstate.ledger.SessionState;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The turn's conditional write against the real ledger: what a repeat of an already decided attempt gets. */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
class TurnRecorderTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    TurnRecorder recorder;

    @Test
    void shouldSendAnAttemptDecidedMeanwhileToTheLookupRatherThanRefuseIt() {
        SessionKey session = new SessionKey("default", "recorder-" + UUID.randomUUID());
        SessionState empty = recorder.read(session).await().atMost(WAIT);
        Turn turn = recorder.turn(session, empty, java.util.List.of());

        TurnRecorder.Written first = recorder.write(session, turn, "hello", "the first reply", "t1", 1).await()
                .atMost(WAIT);
        assertThat(first.verdict()).isEqualTo(TurnRecorder.Verdict.RECORDED);

        // the same attempt again, with the model's second answer: the ids are taken, the body differs
        TurnRecorder.Written again = recorder.write(session, turn, "hello", "another reply", "t1", 1).await()
                .atMost(WAIT);
        assertThat(again.verdict()).isEqualTo(TurnRecorder.Verdict.RETRY);
        // the decision looked up is the assistant message of the recorded attempt
        assertThat(again.decision().firstVersion()).isEqualTo(first.decision().lastVersion());

        TurnRecorder.Lookup found = recorder.lookup(session, "t1").await().atMost(WAIT);
        assertThat(found.recorded()).get().extracting(ChatReply::reply).isEqualTo("the first reply");
        assertThat(recorder.read(session).await().atMost(WAIT).version()).isEqualTo(2);
    }
}
