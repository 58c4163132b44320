/// A small instruction dataset with short, checkable answers — arithmetic, comparisons,
/// counting on, unit conversions, capitals, opposites, first letters and word reversal —
/// sized for showing that LoRA fine-tuning of a ~135M model learns (a few hundred steps).
/// Generated deterministically from a seed, so the shipped files can be rebuilt exactly;
/// each task's examples are split 80/10/10 into train, validation and test, and no
/// question appears in two splits.
public enum InstructionDataset {
    public struct Splits: Sendable, Equatable {
        public let train: [InstructionExample]
        public let validation: [InstructionExample]
        public let test: [InstructionExample]
    }

    public static let defaultSeed: UInt64 = 20_261_125

    public static func generate(seed: UInt64 = defaultSeed) -> Splits {
        var random = RandomSource(seed: seed)
        var train: [InstructionExample] = [], validation: [InstructionExample] = [], test: [InstructionExample] = []
        for task in tasks {
            var pool = task.questions.map { q in
                InstructionExample(task: task.name, messages: [ChatMessage(role: "user", content: q.question),
                                                               ChatMessage(role: "assistant", content: q.answer)])
            }
            shuffle(&pool, &random)
            pool = Array(pool.prefix(task.limit))
            let tenth = max(1, pool.count / 10)
            test += pool[0..<tenth]
            validation += pool[tenth..<(2 * tenth)]
            train += pool[(2 * tenth)...]
        }
        shuffle(&train, &random)
        shuffle(&validation, &random)
        shuffle(&test, &random)
        return Splits(train: train, validation: validation, test: test)
    }

    /// Fisher–Yates with the project's own generator (the standard library's shuffle may
    /// change between Swift versions; the dataset must not).
    private static func shuffle<T>(_ items: inout [T], _ random: inout RandomSource) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, Int(random.next() % UInt64(i + 1)))
        }
    }

    private struct Question {
        let question: String
        let answer: String
    }

    private struct Task {
        let name: String
        /// Most examples kept (the arithmetic pools are much larger than needed).
        let limit: Int
        let questions: [Question]
    }

    private static let number = " Answer with the number only."
    private static let word = " Answer with one word only."

    private static var tasks: [Task] {
        [
            Task(name: "addition", limit: 300, questions: (10..<100).flatMap { a in
                stride(from: 10, to: 100, by: 7).map { b in Question(question: "What is \(a) + \(b)?" + number, answer: "\(a + b)") }
            }),
            Task(name: "subtraction", limit: 300, questions: (20..<100).flatMap { a in
                stride(from: 10, to: a, by: 9).map { b in Question(question: "What is \(a) - \(b)?" + number, answer: "\(a - b)") }
            }),
            Task(name: "comparison", limit: 200, questions: stride(from: 11, to: 100, by: 3).flatMap { a in
                stride(from: 14, to: 100, by: 11).compactMap { b in
                    a == b ? nil : Question(question: "Which number is larger, \(a) or \(b)?" + number, answer: "\(max(a, b))")
                }
            }),
            Task(name: "successor", limit: 200, questions: stride(from: 3, to: 1000, by: 4).map { n in
                Question(question: "What number comes right after \(n)?" + number, answer: "\(n + 1)")
            }),
            Task(name: "units", limit: 250, questions: units.flatMap { unit in
                (2...40).map { n in
                    Question(question: "How many \(unit.small) are in \(n) \(unit.large)?" + number, answer: "\(n * unit.factor)")
                }
            }),
            Task(name: "capitals", limit: 200, questions: capitals.map { country, city in
                Question(question: "What is the capital of \(country)? Answer with the city name only.", answer: city)
            }),
            Task(name: "opposites", limit: 200, questions: opposites.map { a, b in
                Question(question: "What is the opposite of '\(a)'?" + word, answer: b)
            }),
            Task(name: "first_letter", limit: 200, questions: words.map { w in
                Question(question: "What is the first letter of the word '\(w)'?" + " Answer with the letter only.",
                         answer: String(w.prefix(1)))
            }),
            Task(name: "reversal", limit: 200, questions: words.filter { $0.count <= 5 }.map { w in
                Question(question: "Write the word '\(w)' backwards." + word, answer: String(w.reversed()))
            }),
        ]
    }

    private static let units: [(small: String, large: String, factor: Int)] = [
        ("meters", "kilometers", 1000), ("centimeters", "meters", 100), ("grams", "kilograms", 1000),
        ("minutes", "hours", 60), ("seconds", "minutes", 60), ("hours", "days", 24), ("days", "weeks", 7),
    ]

    private static let capitals: [(String, String)] = [
        ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Portugal", "Lisbon"),
        ("the United Kingdom", "London"), ("Ireland", "Dublin"), ("Belgium", "Brussels"), ("the Netherlands", "Amsterdam"),
        ("Austria", "Vienna"), ("Switzerland", "Bern"), ("Poland", "Warsaw"), ("Czechia", "Prague"), ("Hungary", "Budapest"),
        ("Greece", "Athens"), ("Sweden", "Stockholm"), ("Norway", "Oslo"), ("Denmark", "Copenhagen"), ("Finland", "Helsinki"),
        ("Iceland", "Reykjavik"), ("Russia", "Moscow"), ("Ukraine", "Kyiv"), ("Romania", "Bucharest"), ("Bulgaria", "Sofia"),
        ("Serbia", "Belgrade"), ("Croatia", "Zagreb"), ("Turkey", "Ankara"), ("Egypt", "Cairo"), ("Kenya", "Nairobi"),
        ("Nigeria", "Abuja"), ("Ethiopia", "Addis Ababa"), ("Morocco", "Rabat"), ("Ghana", "Accra"), ("Senegal", "Dakar"),
        ("South Africa", "Pretoria"), ("Japan", "Tokyo"), ("China", "Beijing"), ("South Korea", "Seoul"),
        ("India", "New Delhi"), ("Pakistan", "Islamabad"), ("Bangladesh", "Dhaka"), ("Thailand", "Bangkok"),
        ("Vietnam", "Hanoi"), ("Indonesia", "Jakarta"), ("the Philippines", "Manila"), ("Malaysia", "Kuala Lumpur"),
        ("Iran", "Tehran"), ("Iraq", "Baghdad"), ("Saudi Arabia", "Riyadh"), ("Israel", "Jerusalem"), ("Jordan", "Amman"),
        ("Lebanon", "Beirut"), ("Syria", "Damascus"), ("Afghanistan", "Kabul"), ("Nepal", "Kathmandu"),
        ("the United States", "Washington"), ("Canada", "Ottawa"), ("Mexico", "Mexico City"), ("Cuba", "Havana"),
        ("Brazil", "Brasilia"), ("Argentina", "Buenos Aires"), ("Chile", "Santiago"), ("Peru", "Lima"),
        ("Colombia", "Bogota"), ("Venezuela", "Caracas"), ("Ecuador", "Quito"), ("Uruguay", "Montevideo"),
        ("Australia", "Canberra"), ("New Zealand", "Wellington"), ("Mongolia", "Ulaanbaatar"), ("Qatar", "Doha"),
        ("Estonia", "Tallinn"), ("Latvia", "Riga"), ("Lithuania", "Vilnius"), ("Slovakia", "Bratislava"),
        ("Slovenia", "Ljubljana"), ("Albania", "Tirana"), ("Cyprus", "Nicosia"), ("Tunisia", "Tunis"), ("Libya", "Tripoli"),
    ]

    private static let opposites: [(String, String)] = [
        ("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow"), ("happy", "sad"), ("light", "dark"),
        ("open", "closed"), ("early", "late"), ("rich", "poor"), ("strong", "weak"), ("old", "young"), ("high", "low"),
        ("wet", "dry"), ("hard", "soft"), ("full", "empty"), ("long", "short"), ("thick", "thin"), ("heavy", "light"),
        ("loud", "quiet"), ("clean", "dirty"), ("true", "false"), ("win", "lose"), ("buy", "sell"), ("push", "pull"),
        ("left", "right"), ("inside", "outside"), ("day", "night"), ("north", "south"), ("east", "west"),
        ("first", "last"), ("before", "after"), ("above", "below"), ("love", "hate"), ("begin", "end"), ("near", "far"),
        ("cheap", "expensive"), ("safe", "dangerous"), ("easy", "difficult"), ("friend", "enemy"), ("question", "answer"),
        ("arrive", "leave"), ("remember", "forget"), ("accept", "refuse"), ("increase", "decrease"), ("wide", "narrow"),
        ("deep", "shallow"), ("sweet", "sour"), ("brave", "cowardly"), ("awake", "asleep"), ("alive", "dead"),
        ("always", "never"), ("everything", "nothing"), ("top", "bottom"), ("front", "back"),
    ]

    private static let words: [String] = [
        "apple", "river", "stone", "cloud", "tiger", "house", "green", "bread", "music", "plant", "chair", "water",
        "light", "table", "horse", "money", "smile", "train", "ocean", "pencil", "garden", "window", "forest",
        "button", "silver", "castle", "planet", "rabbit", "winter", "summer", "mirror", "candle", "bottle", "doctor",
        "cat", "dog", "sun", "map", "cup", "pen", "box", "hat", "bed", "key", "egg", "ink", "owl", "fox", "bus", "car",
        "bird", "fish", "tree", "book", "door", "milk", "rain", "snow", "star", "moon", "leaf", "ship", "lamp", "rock",
        "wolf", "frog", "ring", "coin", "drum", "kite", "nest", "sand", "road", "salt", "bell", "gold", "hill", "lake",
        "zebra", "queen", "knife", "juice", "lemon", "mango", "night", "paper", "radio", "sugar", "uncle", "voice",
        "yacht", "eagle", "field", "grape", "heart", "island", "jacket", "kitten", "ladder", "market", "needle",
        "orange", "pepper", "rocket", "tunnel", "violin", "wallet", "yellow", "basket", "dragon", "engine", "flower",
    ]
}
