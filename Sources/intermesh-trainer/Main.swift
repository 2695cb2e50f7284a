import IntermeshTrainer
@main enum TrainerMain { static func main() {} }
