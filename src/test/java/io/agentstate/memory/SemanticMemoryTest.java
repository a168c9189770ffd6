package io.agentstate.memory;

import io.agentstate.testsupport.ModelStubResource;
import io.agentstate.testsupport.localstack.LocalStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** Semantic memory with pgvector, as the local stack installs it (see LocalPostgres). */
@QuarkusTest
@QuarkusTestResource(LocalStackResource.class)
@QuarkusTestResource(ModelStubResource.class)
class SemanticMemoryTest extends SemanticMemoryContract {

    @Override
    MemoryVectors.Path expectedPath() {
        return MemoryVectors.Path.PGVECTOR;
    }
}
