// The SnR2U door through ServiceStack's TypeScript client (@servicestack/client), issue 10.
// node refund_note.mjs <base URL> <API key> <YYYY-MM-DD> <AcCusRefundNoteMID> <DocumentNetAmount>
// posts one ITEM-001 of IV-00001 back (12.50 MYR, cash) and prints what the client read, as JSON.
import { JsonServiceClient } from "@servicestack/client"

class CustomerRefundNoteResponse {
    constructor(init) { Object.assign(this, init) }
}

class CreateCustomerRefundNoteSimple {  // as ServiceStack's TypeScript DTOs declare a request
    constructor(init) { Object.assign(this, init) }
    getTypeName() { return "CreateCustomerRefundNoteSimple" }
    getMethod() { return "POST" }
    createResponse() { return new CustomerRefundNoteResponse() }
}

const [baseUrl, key, day, mid, net] = process.argv.slice(2)
const request = new CreateCustomerRefundNoteSimple({
    customerRefundNote: {
        documentHeader: {
            acCusRefundNoteMID: mid, acCustomerID: "300-C001", acLocationID: "HQ", documentDate: day,
            documentNetAmount: Number(net), documentCentBalance: 0, documentFinalAmount: 12.5,
            acCusInvoiceMID: "IV-00001", documentReason: "Damaged in transit", editDate: day,
            eInvoiceBuyerIsMalaysian: "Y",
        },
        documentDetails: [{
            acCusRefundNoteDID: `${mid}-1`, acCusRefundNoteMID: mid, itemNo: 1, acStockID: "ITEM-001",
            acStockUOMID: "UNIT", itemUnitPrice: 12.5, itemQuantity: 1, itemGrossTotal: 12.5,
            itemDiscountAmount: 0, itemTotalPrice: 12.5, itemRemark1: "Dented lid",
        }],
        documentPaymentDetails: [{
            acCusRefundNoteMID: mid, itemNo: 1, acBillPaymentMethodID: "CASH", itemRemark1: "",
            itemCurrencyPaymentAmount: 12.5,
        }],
    },
})
const client = new JsonServiceClient(baseUrl)
client.bearerToken = key
try {
    const answer = await client.postToUrl(`${baseUrl}/CustomerRefundNotes/simple`, request)
    const header = answer.customerRefundNote.documentHeader
    console.log(JSON.stringify({ ok: true, mid: header.acCusRefundNoteMID,
        final: header.documentFinalAmount, customer: header.acCustomerName, meta: answer.responseStatus.meta }))
} catch (error) {
    const status = error.responseStatus || {}
    const first = (status.errors || [])[0] || {}
    console.log(JSON.stringify({ ok: false, errorCode: status.errorCode, message: status.message,
        fieldName: first.fieldName, fieldMessage: first.message }))
}
