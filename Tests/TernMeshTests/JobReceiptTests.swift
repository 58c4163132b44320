import Testing
import TernMesh

@Suite struct JobReceiptTests {
    let worker = testIdentity(1), requester = testIdentity(2)
    let privateMesh = try! MeshID(secret: [UInt8](repeating: 9, count: 32))

    func receipt(inputs: Int = 3, output: Bool = true) -> JobReceipt {
        var chain = StepHashChain()
        for step in 0..<4 { chain.append(StepHashChain.digest([UInt8(step)])) }
        return JobReceipt(
            jobID: (0..<16).map { UInt8($0) }, kind: .train, worker: worker.nodeID, requester: requester.nodeID,
            inputs: (0..<inputs).map { BlobID(bytes: [UInt8](repeating: UInt8(10 + $0), count: 32))! },
            optionsHash: StepHashChain.digest(Array("options".utf8)),
            output: output ? BlobID(bytes: [UInt8](repeating: 0xAB, count: 32)) : nil,
            tokens: 12_345, wallMillis: 6_789, stepChainRoot: chain.root, finishedAtMillis: 1_760_000_000_000)
    }

    func countersigned() throws -> SignedReceipt {
        try SignedReceipt.sign(receipt(), worker: worker, mesh: .open).countersigned(by: requester, mesh: .open)
    }

    @Test func bodyRoundTripsWithAndWithoutOutput() throws {
        for value in [receipt(), receipt(inputs: 0, output: false), receipt(inputs: JobReceipt.maxInputs)] {
            let bytes = value.encoded()
            #expect(try JobReceipt.decode(bytes) == value)
            #expect(bytes.count <= JobReceipt.maxEncodedBytes)
        }
        #expect(receipt(inputs: JobReceipt.maxInputs).encoded().count == JobReceipt.maxEncodedBytes)
    }

    @Test func signedReceiptRoundTripsAndBothSignaturesVerify() throws {
        let workerOnly = try SignedReceipt.sign(receipt(), worker: worker, mesh: .open)
        #expect(workerOnly.body == receipt().encoded())
        #expect(workerOnly.workerSignatureIsValid(mesh: .open))
        #expect(!workerOnly.requesterSignatureIsValid(mesh: .open))
        #expect(try SignedReceipt.decode(workerOnly.encoded(), mesh: .open) == workerOnly)

        let both = try workerOnly.countersigned(by: requester, mesh: .open)
        #expect(both.workerSignature == workerOnly.workerSignature)
        #expect(both.workerSignatureIsValid(mesh: .open) && both.requesterSignatureIsValid(mesh: .open))
        let decoded = try SignedReceipt.decode(both.encoded(), mesh: .open)
        #expect(decoded == both && decoded.receipt == receipt())
    }

    @Test func everySingleByteTamperIsRejected() throws {
        let bytes = try countersigned().encoded()
        for index in bytes.indices {
            var tampered = bytes
            tampered[index] ^= 0x01
            #expect(throws: ReceiptError.self, "byte \(index) flipped") { try SignedReceipt.decode(tampered, mesh: .open) }
        }
    }

    @Test func tamperedBodyOrSignatureFailsVerification() throws {
        let signed = try countersigned()
        let body = signed.body, workerSignature = signed.workerSignature, requesterSignature = try #require(signed.requesterSignature)
        // Every byte of the signed message or of either signature, flipped in place.
        func reencoded(body: [UInt8], worker: [UInt8], requester: [UInt8]) -> [UInt8] {
            var writer = WireWriter()
            writer.blob(body)
            writer.fixed(worker)
            writer.bool(true)
            writer.fixed(requester)
            return writer.bytes
        }
        #expect(throws: Never.self) {
            try SignedReceipt.decode(reencoded(body: body, worker: workerSignature, requester: requesterSignature), mesh: .open)
        }
        for index in workerSignature.indices {
            var flipped = workerSignature
            flipped[index] ^= 0x80
            #expect(throws: ReceiptError.badWorkerSignature) {
                try SignedReceipt.decode(reencoded(body: body, worker: flipped, requester: requesterSignature), mesh: .open)
            }
        }
        for index in requesterSignature.indices {
            var flipped = requesterSignature
            flipped[index] ^= 0x80
            #expect(throws: ReceiptError.badRequesterSignature) {
                try SignedReceipt.decode(reencoded(body: body, worker: workerSignature, requester: flipped), mesh: .open)
            }
        }
    }

    @Test func aReceiptSignedInAnotherMeshIsRejected() throws {
        let foreign = try SignedReceipt.sign(receipt(), worker: worker, mesh: privateMesh)
        #expect(foreign.workerSignatureIsValid(mesh: privateMesh))
        #expect(!foreign.workerSignatureIsValid(mesh: .open))
        #expect(throws: ReceiptError.badWorkerSignature) { try SignedReceipt.decode(foreign.encoded(), mesh: .open) }
        // A countersignature from another mesh on a receipt of this one fails too.
        let local = try SignedReceipt.sign(receipt(), worker: worker, mesh: .open)
        #expect(throws: ReceiptError.badWorkerSignature) { try local.countersigned(by: requester, mesh: privateMesh) }
        let foreignBoth = try foreign.countersigned(by: requester, mesh: privateMesh)
        #expect(try SignedReceipt.decode(foreignBoth.encoded(), mesh: privateMesh) == foreignBoth)
        #expect(throws: ReceiptError.badWorkerSignature) { try SignedReceipt.decode(foreignBoth.encoded(), mesh: .open) }
    }

    @Test func onlyTheNamedNodesCanSign() throws {
        let stranger = testIdentity(3)
        #expect(throws: ReceiptError.wrongSigner(role: "worker", expected: worker.nodeID, actual: requester.nodeID)) {
            try SignedReceipt.sign(receipt(), worker: requester, mesh: .open)
        }
        let signed = try SignedReceipt.sign(receipt(), worker: worker, mesh: .open)
        #expect(throws: ReceiptError.wrongSigner(role: "requester", expected: requester.nodeID, actual: stranger.nodeID)) {
            try signed.countersigned(by: stranger, mesh: .open)
        }
        #expect(throws: ReceiptError.wrongSigner(role: "requester", expected: requester.nodeID, actual: worker.nodeID)) {
            try signed.countersigned(by: worker, mesh: .open)
        }
    }

    @Test func invalidFieldsAreRefusedBeforeSigning() {
        var short = receipt()
        short.jobID = [1, 2, 3]
        #expect(throws: ReceiptError.self) { try SignedReceipt.sign(short, worker: worker, mesh: .open) }
        var badHash = receipt()
        badHash.optionsHash = []
        #expect(throws: ReceiptError.self) { try SignedReceipt.sign(badHash, worker: worker, mesh: .open) }
        var tooMany = receipt()
        tooMany.inputs = Array(repeating: tooMany.inputs[0], count: JobReceipt.maxInputs + 1)
        #expect(throws: ReceiptError.self) { try SignedReceipt.sign(tooMany, worker: worker, mesh: .open) }
    }

    @Test func truncatedOversizeOrUndefinedInputThrows() throws {
        let signed = try countersigned().encoded()
        for length in 0..<signed.count {
            #expect(throws: ReceiptError.self) { try SignedReceipt.decode(Array(signed.prefix(length)), mesh: .open) }
        }
        #expect(throws: ReceiptError.self) { try SignedReceipt.decode(signed + [0], mesh: .open) }
        #expect(throws: ReceiptError.self) {
            try SignedReceipt.decode([UInt8](repeating: 0xFF, count: SignedReceipt.maxEncodedBytes + 1), mesh: .open)
        }

        let body = receipt().encoded()
        for length in 0..<body.count {
            #expect(throws: WireError.self) { try JobReceipt.decode(Array(body.prefix(length))) }
        }
        #expect(throws: WireError.self) { try JobReceipt.decode(body + [0]) }
        #expect(throws: WireError.self) { try JobReceipt.decode([UInt8](repeating: 0, count: JobReceipt.maxEncodedBytes + 1)) }
        var badVersion = body, badKind = body, badFlag = body, hugeList = body
        badVersion[0] = 2
        badKind[17] = 0
        hugeList[82] = 0xFF  // input count, high byte
        badFlag[84 + 3 * 32 + 32] = 2  // has-output flag
        for bad in [badVersion, badKind, badFlag, hugeList] {
            #expect(throws: WireError.self) { try JobReceipt.decode(bad) }
        }
    }

    @Test func stepChainIsOrderedAndDeterministic() {
        var first = StepHashChain(), second = StepHashChain(), swapped = StepHashChain()
        let a = StepHashChain.digest([1]), b = StepHashChain.digest([2])
        #expect(first.count == 0 && first.root == StepHashChain.digest(Array("tern/steps/1".utf8)))
        first.append(a); first.append(b)
        second.append(a); second.append(b)
        swapped.append(b); swapped.append(a)
        #expect(first == second && first.count == 2)
        #expect(first.root != swapped.root)
        #expect(first.root == StepHashChain.digest(StepHashChain.digest(StepHashChain.digest(Array("tern/steps/1".utf8)) + a) + b))
        let raw: [UInt8] = [1, 2, 3]
        #expect(raw.withUnsafeBytes { StepHashChain.digest($0) } == StepHashChain.digest(raw))
    }
}
