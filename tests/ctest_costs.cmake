# Read by CTest (tests/CMakeLists.txt adds it to TEST_INCLUDE_FILES after the discovered
# tests). COST is what CTest orders a run by when it has no durations of its own yet, as in a
# fresh clone: the longest first, so that with several tests at a time (scripts/test.sh runs
# four) the crash campaign does not start last and run alone at the end. The figures are
# seconds measured in a Release run of CI (CTestCostData.txt); a test named here that a build
# does not have (the crash campaign outside a fault-injection build) is ignored by CTest.
# Later runs use CTest's own figures.
set_tests_properties(
  CrashCampaign.KillsAtRandomInstantsAndFaultPointsLoseNothingAndApplyNothingTwice
  PROPERTIES COST 120)
set_tests_properties(DaemonTest.SigkillAtRandomMomentsLosesNothingAndPublishesNothingTwice PROPERTIES COST 44)
set_tests_properties(ScaleOutTest.ThreeInstancesWithKillsAndAFourthJoiningGiveWhatOneReplayGives PROPERTIES COST 38)
set_tests_properties(DaemonTest.WithStandbyCopiesTheSurvivorTakesAKilledInstancesPartitionsOverFromItsWarmCopy
                     PROPERTIES COST 31)
set_tests_properties(BrokerFaultTest.BrokerDownAndUpUnderLoadLosesNothingAndPublishesNothingTwice PROPERTIES COST 24)
set_tests_properties(DaemonTest.ANewStateOnUsedOutputTopicsLosesNothingAfterACrash PROPERTIES COST 23)
set_tests_properties(BrokerFaultTest.SigtermUnderLoadWithASlowBrokerStopsInTimeAndARestartLosesNothing PROPERTIES COST 21)
set_tests_properties(DaemonTest.MergesExtraInputTopicsByTimestampAsReplayOfTheTimeOrder PROPERTIES COST 16)
set_tests_properties(BrokerFaultTest.SigtermWhileTheBrokerIsDownStopsInTimeAndARestartLosesNothing PROPERTIES COST 16)
set_tests_properties(BrokerFaultTest.RequestErrorsUnderLoadLoseNothingAndPublishNothingTwice PROPERTIES COST 14)
set_tests_properties(StateFaultTest.ATruncatedRecordStopsTheDaemonNamingTheKey PROPERTIES COST 11)
set_tests_properties(BrokerFaultTest.ASlowBrokerUnderLoadLosesNothingAndPublishesNothingTwice PROPERTIES COST 11)
set_tests_properties(DaemonSecurityTest.AnIdleConnectionIsClosedAfterTheTimeout PROPERTIES COST 10)
set_tests_properties(StateFaultTest.AFullDiskStopsConsumptionUntilSpaceReturnsAndLosesNothing PROPERTIES COST 9)
set_tests_properties(StateFaultTest.ACorruptAccountRecordStopsTheDaemonNamingTheKey PROPERTIES COST 9)
set_tests_properties(DaemonTest.AnOversizedKafkaMessageIsRejectedByItsSize PROPERTIES COST 6)
# Long under ASan only (17 s there, 3 s in Release).
set_tests_properties(BackupWhileWriting.TheCopyVerifiesAndEqualsAFreshReplayOfWhatItsCommitHadRead PROPERTIES COST 17)
