// TRB type names for the log.
#include "drivers/usb/xhci_trb.hpp"

namespace tv::usb {

char const* trb_type_name(TrbType t) {
    switch (t) {
    case TrbType::Normal: return "Normal";
    case TrbType::SetupStage: return "Setup Stage";
    case TrbType::DataStage: return "Data Stage";
    case TrbType::StatusStage: return "Status Stage";
    case TrbType::Isoch: return "Isoch";
    case TrbType::Link: return "Link";
    case TrbType::EventData: return "Event Data";
    case TrbType::NoOp: return "No Op";
    case TrbType::EnableSlot: return "Enable Slot";
    case TrbType::DisableSlot: return "Disable Slot";
    case TrbType::AddressDevice: return "Address Device";
    case TrbType::ConfigureEndpoint: return "Configure Endpoint";
    case TrbType::EvaluateContext: return "Evaluate Context";
    case TrbType::ResetEndpoint: return "Reset Endpoint";
    case TrbType::StopEndpoint: return "Stop Endpoint";
    case TrbType::SetTrDequeue: return "Set TR Dequeue Pointer";
    case TrbType::ResetDevice: return "Reset Device";
    case TrbType::ForceEvent: return "Force Event";
    case TrbType::NegotiateBandwidth: return "Negotiate Bandwidth";
    case TrbType::SetLatencyTolerance: return "Set Latency Tolerance";
    case TrbType::GetPortBandwidth: return "Get Port Bandwidth";
    case TrbType::ForceHeader: return "Force Header";
    case TrbType::NoOpCommand: return "No Op Command";
    case TrbType::GetExtendedProperty: return "Get Extended Property";
    case TrbType::SetExtendedProperty: return "Set Extended Property";
    case TrbType::TransferEvent: return "Transfer Event";
    case TrbType::CommandCompletion: return "Command Completion";
    case TrbType::PortStatusChange: return "Port Status Change";
    default: return "reserved";
    }
}

}  // namespace tv::usb
