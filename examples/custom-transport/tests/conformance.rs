//! `custom-tcp` passes the quorumnet conformance suite: this one line makes one test per case.

mod factory;

use factory::CustomTcpFactory;

quorumnet_conformance::conformance_tests!(CustomTcpFactory);
